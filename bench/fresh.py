"""Fresh data on our stack (issue 23): how long after a write's acknowledgement its point is visible to a read,
and whether a chart of the newest minute is as fast as one of a minute an hour ago.

A probe series gets an hour of backfill (a point every 15 s, one request), then ROUNDS writes of one point at
the current time, each followed by reads of that instant until it is there: acknowledgement to first read that
returns it. The charts (`/api/query`, width 60) alternate the newest minute and the minute an hour before, over
the same series, after those writes left the current hour in many one-point chunks, as a scraping agent does."""
import time

import orjson

from bench.base import BenchError, check, get, percentile, session

ROUNDS = 100
CHART_ROUNDS = 20
PROBE = "fresh_probe"
MINUTE = 60_000
HOUR = 3_600_000
POLLS = 2000  # reads of one instant before giving up on it (seconds at ~2-5 ms a read)


def now_ms() -> int:
    return int(time.time() * 1000)


def write(url: str, ts: list[int]) -> None:
    check(session().post(f"{url}/api/write", timeout=60, json=[
        {"name": PROBE, "labels": {"host": "probe"}, "timestamps": ts, "values": [float(t % 1000) for t in ts]}]),
        "fresh probe write")


def visible_after(url: str, ts: int) -> float:
    """Seconds from the acknowledgement of a one-point write at `ts` until a read returns the point."""
    write(url, [ts])
    acknowledged = time.perf_counter()
    for _ in range(POLLS):
        found = orjson.loads(get(f"{url}/api/metrics/{PROBE}/data", {"start_time": ts, "end_time": ts + 1}).content)
        if found:
            return time.perf_counter() - acknowledged
    raise BenchError(f"fresh probe: the point at {ts} was acknowledged but not visible after {POLLS} reads")


def chart_seconds(url: str, end_ms: int) -> float:
    start = time.perf_counter()
    get(f"{url}/api/query", {"metric": f'{PROBE}{{host="probe"}}', "start": end_ms - MINUTE, "end": end_ms,
                             "width": 60})
    return time.perf_counter() - start


def measure(ours) -> dict[str, float]:
    """p50/p99 of visibility after acknowledgement (ms), and p50 of the two one-minute charts (ms)."""
    began = now_ms()
    write(ours.url, list(range(began - HOUR - 2 * MINUTE, began, 15_000)))
    delays = [visible_after(ours.url, now_ms()) for _ in range(ROUNDS)]
    newest, older = [], []
    for _ in range(CHART_ROUNDS):
        end = now_ms()
        newest.append(chart_seconds(ours.url, end))
        older.append(chart_seconds(ours.url, end - HOUR))
    return {"visible after acknowledgement, p50": percentile(delays, 50) * 1000,
            "visible after acknowledgement, p99": percentile(delays, 99) * 1000,
            "newest minute": percentile(newest, 50) * 1000, "minute an hour ago": percentile(older, 50) * 1000}
