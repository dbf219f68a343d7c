"""Fill a running stack with a realistic month of one-minute data: `make demo` (python -m tools.demo --url ...).

Several hosts; units %, ms, bytes/s, °C and requests; daily cycles, noise, outages as gaps; a counter,
an enum and a histogram. Deterministic (seeded), ending at the current minute. It writes with a write token it
mints itself (valid for a day), as an agent would.
"""
import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import orjson
import requests

from metrics_server.agents.client import definition_clash, retry_after
from metrics_server.auth.store import AuthStore, expiry
from metrics_server.config import load_config
from metrics_server.errors import ApiError
from metrics_server.storage.db import Database

MINUTE = 60_000
DAY = 86_400_000
BATCH = 10_000
HOSTS = ("web-1", "web-2", "db-1")
METRICS = (
    {"name": "cpu_usage", "type": "gauge", "unit": "%", "label_keys": ["host"], "description": "CPU busy"},
    {"name": "request_latency", "type": "gauge", "unit": "ms", "label_keys": ["host"],
     "description": "mean HTTP request latency"},
    {"name": "network_in", "type": "gauge", "unit": "bytes/s", "label_keys": ["host"],
     "description": "bytes received per second"},
    {"name": "room_temperature", "type": "gauge", "unit": "°C", "label_keys": ["room"],
     "description": "machine room temperature"},
    {"name": "http_requests", "type": "counter", "unit": "requests", "label_keys": ["host"],
     "description": "requests served since start"},
    {"name": "service_state", "type": "enum", "unit": "", "label_keys": ["service"],
     "description": "state reported by the health checker"},
    {"name": "response_time", "type": "histogram", "unit": "ms", "label_keys": ["host"],
     "description": "response time distribution per minute"},
)
BOUNDS = ("5", "10", "25", "50", "100", "250", "500", "1000", "+inf")
LATENCY_SHAPE = np.array([2, 4, 8, 10, 8, 4, 2, 1, 0.2])


def daily(ts: np.ndarray, peak_hour: float = 14) -> np.ndarray:
    """A day-shaped wave in [0, 1], highest at `peak_hour` UTC."""
    return 0.5 + 0.5 * np.cos(2 * np.pi * ((ts % DAY) / DAY - peak_hour / 24))


def with_outages(ts: np.ndarray, rng: np.random.Generator, end: int, host_index: int) -> np.ndarray:
    """Drop a few hours of data: a shared outage two days ago plus one per host at a random time."""
    keep = ~((ts >= end - 2 * DAY) & (ts < end - 2 * DAY + 3 * 3_600_000))
    start = int(rng.integers(ts[0], end - DAY)) // MINUTE * MINUTE
    keep &= ~((ts >= start) & (ts < start + (host_index + 1) * 45 * MINUTE))
    return keep


def gauge_points(rng, ts, end) -> list[dict]:
    """cpu, latency, network per host and a room temperature, as /api/write items."""
    items = []
    for index, host in enumerate(HOSTS):
        keep = with_outages(ts, rng, end, index)
        t = ts[keep]
        wave = daily(t, 14 + index)
        cpu = np.clip(15 + 60 * wave + rng.normal(0, 4, len(t)), 0, 100)
        latency = 40 + 80 * wave ** 3 + rng.gamma(2, 4, len(t))
        spikes = rng.random(len(t)) < 0.002
        latency[spikes] *= 8
        network = 2e6 * (0.2 + wave) * rng.lognormal(0, 0.15, len(t))
        for name, values in (("cpu_usage", cpu), ("request_latency", latency), ("network_in", network)):
            items += [{"name": name, "labels": {"host": host}, "value": round(float(v), 3), "timestamp": int(s)}
                      for s, v in zip(t, values)]
    temperature = 21 + 3 * daily(ts, 16) + np.cumsum(rng.normal(0, 0.02, len(ts)))
    items += [{"name": "room_temperature", "labels": {"room": "dc-a"}, "value": round(float(v), 2),
               "timestamp": int(s)} for s, v in zip(ts, temperature)]
    return items


def counter_and_histogram_points(rng, ts, end) -> list[dict]:
    """A request counter with a restart (reset) per host, and latency histograms every five minutes."""
    items = []
    for index, host in enumerate(HOSTS[:2]):
        keep = with_outages(ts, rng, end, index)
        t = ts[keep]
        per_minute = rng.poisson(600 + 1800 * daily(t))
        total = np.cumsum(per_minute)
        restart = len(t) // 2
        total[restart:] -= total[restart - 1]
        items += [{"name": "http_requests", "labels": {"host": host}, "value": float(v), "timestamp": int(s)}
                  for s, v in zip(t, total)]
        every_five = t[::5]
        for s, load in zip(every_five, daily(every_five)):
            weights = LATENCY_SHAPE * np.linspace(1, 1 + 2 * load, len(LATENCY_SHAPE))
            counts = rng.multinomial(1000, weights / weights.sum())
            items.append({"name": "response_time", "labels": {"host": host}, "timestamp": int(s),
                          "buckets": dict(zip(BOUNDS, map(int, counts)))})
    return items


def enum_points(rng, start, end) -> list[dict]:
    """Health-checker states: mostly running, sometimes degraded, rarely down."""
    items = []
    for service in ("api", "ingest"):
        moment = start
        while moment < end:
            state = rng.choice(["running", "degraded", "down"], p=[0.85, 0.11, 0.04])
            items.append({"name": "service_state", "labels": {"service": service}, "state": str(state),
                          "timestamp": int(moment)})
            moment += int(rng.integers(10, 240)) * MINUTE
    return items


def write_token() -> tuple[str, str]:
    """A write token for this run, minted straight in Cassandra as `python -m metrics_server.auth` does:
    (token, id)."""
    db = Database(load_config(os.environ.get("METRICS_SERVER_CONFIG")))
    try:
        token, stored = AuthStore(db).create_token("make demo", ["write"], owner="tools.demo", expires_at=expiry(1))
    finally:
        db.close()
    return token, stored.id


def authenticated(token: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def post(session: requests.Session, url: str, items: list[dict], attempts: int = 6) -> None:
    """Write one batch; a 429 or 5xx (limits, Cassandra busy) is retried after its Retry-After or a backoff, which
    is safe because writes are idempotent."""
    for attempt in range(attempts):
        response = session.post(f"{url}/api/write", data=orjson.dumps(items),
                                headers={"Content-Type": "application/json"}, timeout=120)
        if response.status_code == 201:
            return
        if response.status_code != 429 and response.status_code < 500:
            break
        time.sleep(max(2 ** attempt, retry_after(response.headers.get("Retry-After")) or 0))
    raise RuntimeError(f"write failed: HTTP {response.status_code} {response.text[:300]}")


def define(session: requests.Session, url: str, metric: dict) -> None:
    """Create a demo metric, or accept the one that exists when it takes the demo's points; one of the same name
    made by another program stops the demo with who made it and what to do (issue 25)."""
    metric = {**metric, "description": f"{metric['description']} (make demo)"}
    response = session.post(f"{url}/api/metrics", json=metric, timeout=30)
    if response.status_code == 409:
        response = session.get(f"{url}/api/metrics/{metric['name']}", timeout=30)
        clash = response.ok and definition_clash(response.json(), metric["type"], metric["label_keys"])
        if clash:
            raise RuntimeError(f"cannot write the demo's {metric['name']}: {clash}")
    if not response.ok:
        raise RuntimeError(f"cannot create {metric['name']}: HTTP {response.status_code} {response.text}")


def load(url: str, days: int, token: str, seed: int = 42) -> int:
    """Create the metrics (if missing) and write the data with the token; returns the number of points written."""
    session = authenticated(token)
    for metric in METRICS:
        define(session, url, metric)
    rng = np.random.default_rng(seed)
    end = int(time.time() * 1000) // MINUTE * MINUTE
    start = end - days * DAY
    ts = np.arange(start, end, MINUTE, dtype=np.int64)
    items = gauge_points(rng, ts, end) + counter_and_histogram_points(rng, ts, end) + enum_points(rng, start, end)
    batches = [items[i:i + BATCH] for i in range(0, len(items), BATCH)]
    with ThreadPoolExecutor(4) as pool:
        sessions = [authenticated(token) for _ in range(4)]
        list(pool.map(lambda pair: post(sessions[pair[0] % 4], url, pair[1]), enumerate(batches)))
    return len(items)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        token, token_id = write_token()
        count = load(args.url.rstrip("/"), args.days, token)
    except (requests.RequestException, RuntimeError, ApiError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    seconds = time.monotonic() - started
    print(f"demo data loaded: {count} points in {seconds:.0f}s ({count / seconds:,.0f} points/s); "
          f"with write token {token_id} (expires in a day); open {args.url}/ and pick cpu_usage and request_latency")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
