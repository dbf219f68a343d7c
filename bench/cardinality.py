"""The cardinality curve (issue 14): `python -m bench.cardinality [--sizes 200,20000,200000] [--rounds 5]`.

One metric per size with that many series (labels host and dc, 8 data centres), each series an hour of points a
minute apart, written to metrics_server, InfluxDB and VictoriaMetrics alike; then, in rounds that alternate the
systems: the first page of the series list (1,000), the values of `dc`, a 1-series and a 100-series chart of the
hour, and the sum by dc across every series per minute over that hour and per hour over the day that ends with
it. A figure whose warm-up answer took over SLOW_S seconds is that answer alone (InfluxDB's aggregate over
200,000 series would take hours in every round). Also how long our rollups lag behind the load: the seconds
from its last acknowledged write until every partition it marked is recomputed. Prints p50/p95 and writes
bench/CARDINALITY.md. Disk per point: what each system's store grew by for that size's metric, once flushed and
compacted (bench/run.py's method), ÷ its points.
"""
import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import orjson
import requests

from bench.base import BenchError, check_base_port, get, machine, percentile, say, session, timed
from bench.influx import DATABASE, Influx
from bench.ours import Ours
from bench.victoria import Victoria

HERE = Path(__file__).resolve().parent
END_MS = 1_793_491_200_000
HOUR = 3_600_000
DAY = 24 * HOUR
DCS = 8
BATCH_POINTS = 5000
SLOW_S = 20.0
OUR_LIMITS = {  # the curve goes past the defaults on purpose: what is measured is the cost, not the refusal
    "METRICS_SERVER_MAX_SERIES_PER_METRIC": "2000000", "METRICS_SERVER_MAX_NEW_SERIES_PER_REQUEST": "1000000",
    "METRICS_SERVER_MAX_QUERY_READS": "10000000", "METRICS_SERVER_QUERY_TIMEOUT": "110",
}


def series_of(count: int) -> list[tuple[str, str]]:
    return [(f"h{i:06d}", f"dc{i % DCS}") for i in range(count)]


def bodies(system: str, metric: str, count: int) -> list[bytes]:
    """The same points for each system, in requests of about BATCH_POINTS points."""
    times = np.arange(END_MS - HOUR, END_MS, 60_000)
    per = max(1, BATCH_POINTS // len(times))
    out = []
    every = series_of(count)
    for first in range(0, count, per):
        chunk = every[first:first + per]
        values = [(40 + (i % 50) + np.sin(times / 6e5)).round(2).tolist() for i in range(first, first + len(chunk))]
        if system == "ours":
            out.append(orjson.dumps([{"name": metric, "labels": {"host": host, "dc": dc}, "timestamps":
                                      times.tolist(), "values": vals} for (host, dc), vals in zip(chunk, values)]))
        elif system == "victoria":
            out.append("\n".join(f'{metric}{{host="{host}",dc="{dc}"}} {v} {t}' for (host, dc), vals in
                                 zip(chunk, values) for t, v in zip(times.tolist(), vals)).encode())
        else:
            out.append("\n".join(f"{metric},dc={dc},host={host} value={v} {t}" for (host, dc), vals in
                                 zip(chunk, values) for t, v in zip(times.tolist(), vals)).encode())
    return out


def queries(system, metric: str, count: int) -> dict:
    """Each figure's request for one system, as a function of no arguments returning the response."""
    start, end = END_MS - HOUR, END_MS
    hosts = [host for host, _ in series_of(count)[:100]]
    if system.name == "ours":
        url = system.url

        def chart(chosen):
            selector = metric + "{" + ",".join(f'host="{host}"' for host in chosen) + "}"
            return get(f"{url}/api/query", {"metric": selector, "start": start, "end": end,
                                            "granularity": "minute"})
        return {
            "series page (1,000)": lambda: get(f"{url}/api/metrics/{metric}/series", {"limit": 1000}),
            "label values (dc)": lambda: get(f"{url}/api/metrics/{metric}/labels/dc/values"),
            "chart, 1 series, 1 h": lambda: chart(hosts[:1]),
            "chart, 100 series, 1 h": lambda: chart(hosts[:100]),
            "sum by dc over all series, 1 h": lambda: get(f"{url}/api/query", {
                "metric": metric, "start": start, "end": end, "granularity": "minute", "agg": "avg",
                "across": "sum", "group_by": "dc"}),
            "sum by dc over all series, 24 h": lambda: get(f"{url}/api/query", {
                "metric": metric, "start": end - DAY, "end": end, "granularity": "hour", "agg": "avg",
                "across": "sum", "group_by": "dc"}),
        }
    if system.name == "victoria":
        url = system.url

        def prom(text, step=60, first=start):
            return get(f"{url}/api/v1/query_range", {"query": text, "start": first / 1000 + step, "end": end / 1000,
                                                     "step": f"{step}s", "nocache": "1"})
        return {
            "series page (1,000)": lambda: get(f"{url}/api/v1/series", {"match[]": metric, "limit": 1000}),
            "label values (dc)": lambda: get(f"{url}/api/v1/label/dc/values", {"match[]": metric}),
            "chart, 1 series, 1 h": lambda: prom(f'avg_over_time({metric}{{host="{hosts[0]}"}}[60s])'),
            "chart, 100 series, 1 h": lambda: prom(f'avg_over_time({metric}{{host=~"{"|".join(hosts)}"}}[60s])'),
            "sum by dc over all series, 1 h": lambda: prom(f"sum by (dc) (avg_over_time({metric}[60s]))"),
            "sum by dc over all series, 24 h": lambda: prom(f"sum by (dc) (avg_over_time({metric}[1h]))", 3600,
                                                            end - DAY),
        }
    url = system.url

    def influx(text):
        return get(f"{url}/query", {"db": DATABASE, "epoch": "ms", "q": text})
    window = f"time >= {start}ms AND time < {end}ms"
    day = f"time >= {end - DAY}ms AND time < {end}ms"

    def chart(chosen):
        where = " OR ".join(f"\"host\" = '{host}'" for host in chosen)
        return influx(f'SELECT mean(value) FROM "{metric}" WHERE ({where}) AND {window} GROUP BY time(1m), "host"')
    return {
        "series page (1,000)": lambda: influx(f'SHOW SERIES FROM "{metric}" LIMIT 1000'),
        "label values (dc)": lambda: influx(f'SHOW TAG VALUES FROM "{metric}" WITH KEY = "dc"'),
        "chart, 1 series, 1 h": lambda: chart(hosts[:1]),
        "chart, 100 series, 1 h": lambda: chart(hosts[:100]),
        "sum by dc over all series, 1 h": lambda: influx(
            f'SELECT sum(mean) FROM (SELECT mean(value) FROM "{metric}" WHERE {window} GROUP BY time(1m), "host",'
            f' "dc") WHERE {window} GROUP BY time(1m), "dc"'),
        "sum by dc over all series, 24 h": lambda: influx(
            f'SELECT sum(mean) FROM (SELECT mean(value) FROM "{metric}" WHERE {day} GROUP BY time(1h), "host",'
            f' "dc") WHERE {day} GROUP BY time(1h), "dc"'),
    }


def run(sizes: list[int], rounds: int, out: Path, base_port: int, results: Path) -> dict:
    systems = [Ours(out / "stack", base_port), Influx(out / "influxdb", base_port),
               Victoria(out / "victoria", base_port)]
    systems[0].stack.env.update(OUR_LIMITS)
    figures: dict = {}
    try:
        for system in systems:
            say(f"starting {system.name}")
            system.start()
        session().post(f"{systems[1].url}/query", params={"q": f"CREATE DATABASE {DATABASE}"}, timeout=30)
        systems[2].first_ms, systems[2].last_ms = END_MS - HOUR, END_MS - 1  # the month VictoriaMetrics merges
        disk = {system.name: system.disk() for system in systems}
        for size in sizes:
            metric = f"card_{size}"
            for system in systems:
                payload = bodies(system.name, metric, size)
                took, _ = system.load(payload, 4)
                caught = system.catch_up() if system.name == "ours" else 0.0
                figures.setdefault(size, {}).setdefault("ingest, points/s", {})[system.name] = [size * 60 / took]
                if system.name == "ours":
                    figures[size]["rollups caught up after the load, s"] = {"ours": [caught]}
                stored = system.disk()  # flushed and compacted; this size's metric is what grew
                figures[size].setdefault("disk, bytes/point", {})[system.name] = [(stored - disk[system.name]) /
                                                                                  (size * 60)]
                disk[system.name] = stored
                say(f"{size} series: {system.name} ingested {size * 60:,} points in {took:.1f} s"
                    f" (+{caught:.1f} s rollups)")
            asked = {system.name: queries(system, metric, size) for system in systems}
            for label in asked["ours"]:  # the table's rows in the queries' order
                figures[size].setdefault(label, {})
            slow: set[tuple[str, str]] = set()
            for round_ in range(rounds + 1):
                for system in systems[round_ % 3:] + systems[:round_ % 3]:
                    for label, ask in asked[system.name].items():
                        measured = figures[size].get(label, {}).get(system.name, [])
                        if (system.name, label) in slow and measured:
                            continue
                        try:
                            seconds, _ = timed(ask)
                        except (requests.Timeout, requests.ConnectionError):  # bench.base.get waits 300 s
                            seconds = math.inf
                        if not round_ and seconds > SLOW_S:
                            slow.add((system.name, label))
                        if round_ or seconds > SLOW_S:  # the first round warms up, unless it took that long
                            figures[size].setdefault(label, {}).setdefault(system.name, []).append(seconds * 1000)
            say(f"{size} series: queries done")
            results.write_text(markdown(figures, [done for done in sizes if done in figures], rounds))
    finally:
        for system in systems:
            system.stop()
    return figures


def markdown(figures: dict, sizes: list[int], rounds: int) -> str:
    lines = ["# Cardinality curve", "", f"`python -m bench.cardinality --sizes {','.join(map(str, sizes))} "
             f"--rounds {rounds}`, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
             f"{machine()['cpu']}, {machine()['nproc']} cores shared with other work "
             f"(load average {os.getloadavg()[0]:.0f} at the end). Each series: an hour, a point a minute.",
             "", "| series | figure | ours | InfluxDB | VictoriaMetrics | ours/InfluxDB | ours/VM |",
             "|---:|---|---:|---:|---:|---:|---:|"]
    for size in sizes:
        for label, per_system in figures[size].items():
            if label.startswith(("ingest", "rollups", "disk")):
                cells = {name: float(np.median(values)) for name, values in per_system.items()}
                text = {name: f"{value:,.2f}" if label.startswith("disk") else f"{value:,.0f}"
                        for name, value in cells.items()}
            else:
                cells = {name: percentile(values, 50) for name, values in per_system.items()}
                text = {name: f"{percentile(values, 50):.0f} / {percentile(values, 95):.0f}"
                        if math.isfinite(cells[name]) else "no answer in 300 s" for name, values in per_system.items()}
                label += ", p50 / p95 ms"
            ratio = [f"{cells['ours'] / cells[peer]:.2f}×" if cells.get(peer) and math.isfinite(cells[peer]) and
                     math.isfinite(cells["ours"]) else "" for peer in ("influxdb", "victoria")]
            lines.append(f"| {size:,} | {label} | {text.get('ours', '')} | {text.get('influxdb', '')} | "
                         f"{text.get('victoria', '')} | {ratio[0]} | {ratio[1]} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cardinality", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,20000,200000")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=HERE / "out" / "cardinality")
    parser.add_argument("--results", type=Path, default=HERE / "CARDINALITY.md")
    parser.add_argument("--base-port", type=int, default=24000)
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    try:
        check_base_port(args.base_port)
        figures = run(sizes, args.rounds, args.out.resolve(), args.base_port, args.results)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    text = markdown(figures, sizes, args.rounds)
    print(text)
    args.results.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
