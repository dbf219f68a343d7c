"""How fast the browser draws: `python -m bench.frontend --url http://127.0.0.1:8080 [--runs 7]`.

Against a running stack (`make up`; an admin token in METRICS_SERVER_TOKEN or --token when auth is on), it
writes a 30-day data set (3 gauges × 2 hosts, a point a minute), then opens in Debian's headless Chromium (the
browser tests' launcher) the Explore view of those 3 metrics over the 30 days and a dashboard of 6 panels over
them, several times each, and reads Chromium's performance timeline:
navigation start → the first /api/query leaves → the last /api/query is back → charts drawn (when the page first
holds every expected chart, seen by an observer injected before the page's own scripts), the load event, and each
/api request's start and duration (Resource Timing), so a waterfall of requests shows as late starts (the last
warm run's requests are listed in start order). The
browser signs in as a throw-away read-only user. The first run of each view is cold (empty cache), the others
warm; it prints a table and writes bench/FRONTEND.md. Its data and dashboard are deleted at the end, also on an
error.
"""
import argparse
import json
import os
import statistics
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlencode

from tests.e2e.e2e_support import chromium, sign_in

MINUTE = 60_000
DAYS = 30
HERE = Path(__file__).resolve().parent

# Installed before the page's scripts: records performance.now() when the page first holds `want` drawn charts.
OBSERVER = """
window.__drawn = null;
const want = %d, selector = %s;
new MutationObserver((_, obs) => {
  if (document.querySelectorAll(selector).length >= want) { window.__drawn = performance.now(); obs.disconnect(); }
}).observe(document, {childList: true, subtree: true});
"""


TOKEN = os.environ.get("METRICS_SERVER_TOKEN", "")


def call(base: str, method: str, path: str, body=None) -> dict:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {TOKEN}"} if TOKEN else {})}
    req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers=headers)
    with urllib.request.urlopen(req, timeout=300) as res:
        text = res.read()
    return json.loads(text) if text else {}


def write_data(base: str, prefix: str) -> tuple[list[str], int, int]:
    """Three gauges with two hosts each, a point a minute for 30 days, in series items of a day."""
    end = int(time.time() * 1000) // MINUTE * MINUTE
    start = end - DAYS * 1440 * MINUTE
    names = [f"{prefix}_{k}" for k in ("cpu", "mem", "latency")]
    for name, unit in zip(names, ("%", "%", "ms")):
        call(base, "POST", "/api/metrics", {"name": name, "type": "gauge", "unit": unit, "label_keys": ["host"]})
    for day in range(DAYS):
        times = list(range(start + day * 1440 * MINUTE, start + (day + 1) * 1440 * MINUTE, MINUTE))
        items = [{"name": name, "labels": {"host": host}, "timestamps": times,
                  "values": [round(50 + 20 * ((t // MINUTE + i * 97) % 600) / 600, 2) for t in times]}
                 for i, (name, host) in enumerate((n, h) for n in names for h in ("a", "b"))]
        call(base, "POST", "/api/write", items)
    return names, start, end


def measure(driver, url: str, want: int, selector: str, timeout: float = 60) -> dict:
    """One load of `url`: ms from navigation start to drawn, to the load event, and the /api requests."""
    script = driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                    {"source": OBSERVER % (want, json.dumps(selector))})
    try:
        driver.get(url)
        deadline = time.monotonic() + timeout
        while driver.execute_script("return window.__drawn") is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url}: fewer than {want} of {selector} after {timeout} s")
            time.sleep(0.05)
        return driver.execute_script("""
            const nav = performance.getEntriesByType('navigation')[0];
            return {drawn: window.__drawn, load: nav.loadEventEnd, dom: nav.domContentLoadedEventEnd,
                    api: performance.getEntriesByType('resource').filter(e => e.name.includes('/api/'))
                      .map(e => ({path: new URL(e.name).pathname, start: e.startTime, ms: e.duration,
                                  end: e.responseEnd}))};""")
    finally:
        driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]})


def summary(runs: list[dict]) -> dict:
    """Cold (the first run) and warm (median of the rest) figures of one view."""
    warm = runs[1:] or runs

    def med(f):
        return round(statistics.median(f(r) for r in warm))

    def queries(r):
        return [a for a in r["api"] if a["path"] == "/api/query"] or [{"start": 0, "end": 0, "ms": 0}]

    return {
        "cold_drawn_ms": round(runs[0]["drawn"]), "warm_drawn_ms": med(lambda r: r["drawn"]),
        "warm_query_start_ms": med(lambda r: min(a["start"] for a in queries(r))),
        "warm_data_back_ms": med(lambda r: max(a["end"] for a in queries(r))),
        "warm_load_ms": med(lambda r: r["load"]),
        "warm_query_ms": med(lambda r: max((a["ms"] for a in r["api"] if a["path"] == "/api/query"), default=0)),
        "warm_last_request_start_ms": med(lambda r: max((a["start"] for a in r["api"]), default=0)),
        "requests": len(warm[-1]["api"]),
        "waterfall": sorted(warm[-1]["api"], key=lambda a: a["start"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--out", type=Path, default=HERE / "FRONTEND.md")
    parser.add_argument("--token", help="an admin token (default: METRICS_SERVER_TOKEN)")
    args = parser.parse_args()
    global TOKEN
    TOKEN = args.token or TOKEN
    base = args.url.rstrip("/")
    prefix = f"fe_{uuid.uuid4().hex[:6]}"
    names, dashboard = [], None
    reader = (f"{prefix}_reader", uuid.uuid4().hex)
    try:
        call(base, "POST", "/api/auth/users", {"username": reader[0], "password": reader[1], "scopes": ["read"]})
        names, start, end = write_data(base, prefix)
        charts = ["line", "line", "line", "bars", "stat", "points"]
        panels = [{"id": f"p{i}", "title": name, "metrics": [{"name": name, "filters": {}}], "w": 6, "h": 2,
                   "chart": chart} for i, (name, chart) in enumerate(zip(names * 2, charts))]
        dashboard = call(base, "POST", "/api/dashboards", {"title": f"bench {prefix}", "panels": panels,
                                                           "time": {"from": str(start), "to": str(end)}})
        explore = f"{base}/?{urlencode([('m', n) for n in names] + [('from', start), ('to', end)])}"
        board = f"{base}/?{urlencode({'d': dashboard['id'], 'from': start, 'to': end})}"
        first_series = "svg[data-testid=panel-chart] .series:first-of-type, [data-testid=stat]"
        views = {"Explore, 3 metrics × 30 days": (explore, 1, "svg[data-testid=main-chart] .series"),
                 "dashboard, 6 panels × 30 days": (board, 6, first_series)}
        results = {}
        with chromium() as driver:
            driver.set_window_size(1440, 1100)
            sign_in(driver, base, *reader)
            for label, (url, want, selector) in views.items():
                driver.execute_cdp_cmd("Network.clearBrowserCache", {})
                results[label] = summary([measure(driver, url, want, selector) for _ in range(args.runs)])
        report(results, args)
    finally:
        if dashboard:
            call(base, "DELETE", f"/api/dashboards/{dashboard['id']}")
        for name in names:
            call(base, "DELETE", f"/api/metrics/{name}")
        call(base, "DELETE", f"/api/auth/users/{reader[0]}")


def report(results: dict, args) -> None:
    lines = ["# Frontend speed", "", f"`python -m bench.frontend --runs {args.runs}` on "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, Debian's headless Chromium against the local "
             "stack (nginx + instances, 1440 × 1100). Times from navigation start, read off Chromium's performance "
             "timeline; warm = median of the runs after the first. The machine's load average when it ended: "
             f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work shares them: absolute times are noisy).",
             "",
             "| view | cold: drawn | warm: first /api/query leaves | warm: data back | warm: drawn "
             "| warm: page load event | warm: slowest /api/query | warm: last /api request starts | /api requests |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for label, r in results.items():
        lines.append(f"| {label} | {r['cold_drawn_ms']} ms | {r['warm_query_start_ms']} ms | "
                     f"{r['warm_data_back_ms']} ms | {r['warm_drawn_ms']} ms | {r['warm_load_ms']} ms | "
                     f"{r['warm_query_ms']} ms | {r['warm_last_request_start_ms']} ms | {r['requests']} |")
    for label, r in results.items():  # where the time goes: the last warm run's /api requests in start order
        lines += ["", f"{label}, the last warm run's /api requests:", "", "| request | starts | back |",
                  "|---|---:|---:|"]
        lines += [f"| {a['path']} | {a['start']:.0f} ms | {a['end']:.0f} ms |" for a in r["waterfall"]]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
