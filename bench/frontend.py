"""How fast the browser draws: `python -m bench.frontend --url http://127.0.0.1:8080 [--runs 7]`.

Against a running stack (`make up`; an admin token in METRICS_SERVER_TOKEN or --token when auth is on), it
writes a 30-day data set (3 gauges × 2 hosts, a point a minute), then opens in Debian's headless Chromium (the
browser tests' launcher) the Explore view of those 3 metrics over the 30 days and a dashboard of 6 panels over
them, several times each, and reads Chromium's performance timeline:
navigation start → the first /api/query leaves → the last /api/query is back → charts drawn (when the page first
holds every expected chart, seen by an observer injected before the page's own scripts), the load event, and each
/api request's start and duration (Resource Timing, those ended within a second after drawn), so a waterfall of
requests shows as late starts (the last warm run's requests are listed in start order); and from Chromium's trace
the main thread's CPU time (each task's thread time, which the machine's load stretches far less than wall times)
before the first query leaves, from data back to drawn (script, style and layout, paint) and in the second after
drawn. The browser signs in as a throw-away read-only user. The first run of each view is cold (empty cache), the
others warm; it prints a table and writes bench/FRONTEND.md. Its data and dashboard are deleted at the end, also on
an error.
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

from tests.e2e.e2e_support import chromium, load_timed, sign_in

MINUTE = 60_000
DAYS = 30
HERE = Path(__file__).resolve().parent
TOKEN = os.environ.get("METRICS_SERVER_TOKEN", "")
# What Chromium traces: the renderer's tasks with their thread (CPU) time, and the navigation start they count from.
TRACE = "devtools.timeline,disabled-by-default-devtools.timeline,blink.user_timing"
LAYOUT = {"UpdateLayoutTree", "Layout"}
PAINT = {"PrePaint", "Paint", "Layerize", "Commit"}
SETTLE = 1.0  # seconds a load is followed after drawn: the requests the page sends once its charts are drawn


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


def traced_loads(driver, url: str) -> list[list[dict]]:
    """Per load of `url` since the last call, in order: its main thread's trace events (ts, dur, tdur in ms from its
    navigation start, sorted). chromedriver hands the trace over with the "performance" log."""
    driver.get("about:blank")  # the last load's tasks end, so its trace is complete
    time.sleep(1)
    events = [m["params"] for m in (json.loads(e["message"])["message"] for e in driver.get_log("performance"))
              if m["method"] == "Tracing.dataCollected"]
    starts = sorted((e for e in events if e["name"] == "navigationStart"
                     and e["args"].get("data", {}).get("documentLoaderURL") == url), key=lambda e: e["ts"])
    loads = []
    for nav, after in zip(starts, starts[1:] + [None]):
        end = after["ts"] if after else float("inf")
        mine = [e for e in events if e.get("ph") == "X" and (e["pid"], e["tid"]) == (nav["pid"], nav["tid"])
                and nav["ts"] <= e["ts"] < end]
        loads.append(sorted(({"name": e["name"], "ts": (e["ts"] - nav["ts"]) / 1000, "dur": e.get("dur", 0) / 1000,
                              "tdur": e.get("tdur", 0) / 1000} for e in mine), key=lambda e: e["ts"]))
    return loads


def cpu_ms(events: list[dict], start: float, end: float) -> dict:
    """CPU ms of the main thread's tasks begun in [start, end) ms: all of it, style and layout, paint; and their wall
    time."""
    out = {"all": 0.0, "layout": 0.0, "paint": 0.0, "wall": 0.0}
    task_end, counted = -1.0, False
    for e in events:
        if e["ts"] >= task_end:  # outside the last task: a new top-level one
            if e["name"] != "RunTask":
                continue
            task_end, counted = e["ts"] + e["dur"], start <= e["ts"] < end
            if counted:
                out["all"] += e["tdur"]
                out["wall"] += e["dur"]
        elif counted and e["name"] in LAYOUT | PAINT:
            out["layout" if e["name"] in LAYOUT else "paint"] += e["tdur"]
    out["script"] = out["all"] - out["layout"] - out["paint"]
    return out


def with_cpu(run: dict, events: list[dict]) -> dict:
    """The run's figures with the main thread's CPU time before the query, from data back to drawn, and after."""
    queries = [a for a in run["api"] if a["path"] == "/api/query"]
    first, back = min(a["start"] for a in queries), max(a["end"] for a in queries)
    return {**run, "cpu_to_query": cpu_ms(events, 0, first), "cpu_to_drawn": cpu_ms(events, back, run["drawn"]),
            "cpu_after_drawn": cpu_ms(events, run["drawn"], run["drawn"] + SETTLE * 1000)}


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
        "cpu": {f"{span}_{part}": med(lambda r, span=span, part=part: r[f"cpu_{span}"][part])
                for span in ("to_query", "to_drawn", "after_drawn")
                for part in ("all", "script", "layout", "paint", "wall")},
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
        with chromium(trace_categories=TRACE) as driver:
            driver.set_window_size(1440, 1100)
            sign_in(driver, base, *reader)
            for label, (url, want, selector) in views.items():
                driver.execute_cdp_cmd("Network.clearBrowserCache", {})
                runs = [load_timed(driver, url, selector, want, settle=SETTLE) for _ in range(args.runs)]
                loads = traced_loads(driver, url)
                if len(loads) != len(runs):
                    raise RuntimeError(f"{label}: {len(loads)} traced loads for {len(runs)} runs")
                results[label] = summary([with_cpu(r, e) for r, e in zip(runs, loads)])
                results[label]["load_average"] = os.getloadavg()[0]
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
    lines += ["", "Main-thread CPU ms (Chromium's trace: the thread time of the page's tasks begun in each span, warm "
              "medians; the wall time of the same tasks beside it). Load stretches these far less than the times "
              "above.", "",
              "| view | load average | before the first /api/query leaves | data back → drawn: all (wall) "
              "| script | style + layout | paint | the second after drawn |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for label, r in results.items():
        c = r["cpu"]
        lines.append(f"| {label} | {r['load_average']:.1f} | {c['to_query_all']} ms | {c['to_drawn_all']} ms "
                     f"({c['to_drawn_wall']} ms) | {c['to_drawn_script']} ms | {c['to_drawn_layout']} ms | "
                     f"{c['to_drawn_paint']} ms | {c['after_drawn_all']} ms |")
    for label, r in results.items():  # where the time goes: the last warm run's /api requests in start order
        lines += ["", f"{label}, the last warm run's /api requests:", "", "| request | starts | back |",
                  "|---|---:|---:|"]
        lines += [f"| {a['path']} | {a['start']:.0f} ms | {a['end']:.0f} ms |" for a in r["waterfall"]]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
