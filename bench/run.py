"""Run the benchmarks: `python -m bench.run [--quick] [--no-peers-if-missing] [--out DIR] [--base-port N]`.

Starts our stack, InfluxDB and VictoriaMetrics in one folder on loopback ports, loads the same points into each
with the same number of concurrent clients, measures each one's disk once flushed and compacted, then asks
chart and raw-read queries in rounds that alternate the systems, prints the table and writes it as Markdown
(bench/RESULTS.md for a full run, OUT/RESULTS.md for --quick) and as OUT/results.json. Everything it started
is stopped at the end, also on an error or SIGTERM.
"""
import argparse
import os
import shutil
import signal
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import orjson

from bench import fresh, promql, remote_write
from bench.base import BEGAN, BenchError, Chart, Results, check_base_port, machine, percentile, say, timed
from bench.dataset import DAY, make_dataset
from bench.influx import Influx
from bench.ours import Ours
from bench.victoria import Victoria
from tools.stack import DEFAULT_INSTANCES

HERE = Path(__file__).resolve().parent
WIDTH = 1200
HOUR = 3_600_000
LOAD_SLICES = 6  # ingest is interleaved: every system loads a sixth of the data in turn
MODES = {  # hosts (× 4 metrics = series), days, timed rounds of chart queries and of raw reads
    "full": {"hosts": 50, "days": 30, "chart_rounds": 20, "raw_rounds": 5},
    "quick": {"hosts": 5, "days": 2, "chart_rounds": 3, "raw_rounds": 2},
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 series × 2 days, a few rounds (CI, make test)")
    parser.add_argument("--no-peers-if-missing", action="store_true",
                        help="benchmark only the systems that are installed instead of failing")
    parser.add_argument("--out", type=Path, help="working folder (default bench/out/full or bench/out/quick)")
    parser.add_argument("--results", type=Path, help="Markdown table (default bench/RESULTS.md, OUT with --quick)")
    parser.add_argument("--base-port", type=int, default=28000,
                        help="nginx BASE+80, instances +81.., CQL +1042, InfluxDB +86, Prometheus +90, "
                             "VictoriaMetrics +428")
    parser.add_argument("--instances", type=int, default=DEFAULT_INSTANCES,
                        help="our waitress instances behind nginx (default: as make up, one per core, 2 to 4)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent writers, the same for every system")
    parser.add_argument("--batch", type=int, default=5000, help="points per write request")
    parser.add_argument("--remote-write-only", action="store_true",
                        help="only the remote_write round (minutes instead of the whole run); results in OUT")
    parser.add_argument("--promql-only", action="store_true",
                        help="only the load (ours and VictoriaMetrics) and the PromQL round; results in OUT")
    args = parser.parse_args(argv)
    args.mode = "quick" if args.quick else "full"
    args.out = (args.out or HERE / "out" / args.mode).resolve()
    partial = args.quick or args.remote_write_only or args.promql_only
    args.results = args.results or (args.out / "RESULTS.md" if partial else HERE / "RESULTS.md")
    return args


def systems_for(args) -> list:
    """Ours first, then every peer that is installed (or fail when one is missing, unless told not to)."""
    systems = [Ours(args.out / "stack", args.base_port, args.instances)]
    for peer in (Victoria,) if args.promql_only else (Influx, Victoria):
        if shutil.which(peer.binary):
            systems.append(peer(args.out / peer.name, args.base_port))
        elif not args.no_peers_if_missing:
            raise BenchError(f"{peer.binary} is not installed: run `tools/install.sh bench` (or pass "
                             "--no-peers-if-missing)")
        else:
            say(f"{peer.binary} is not installed: benchmarking without {peer.name}")
    for system in systems:
        system.settle = (1.0, 3) if args.quick else system.settle
    return systems


def chart_plans(dataset, rounds: int, days: int) -> list[tuple[int, str, list[Chart]]]:
    """(series count, range label, one warm-up query then `rounds` timed ones) for 1 and 4 series over 1 h, 24 h
    and the whole data set; random metrics, hosts and window ends (seeded), the same for every system."""
    rng = np.random.default_rng(7)
    hosts = sorted({series.host for series in dataset.series})
    metrics = sorted({series.metric.name for series in dataset.series})
    plans = []
    for count in (1, 4):
        for label, span in (("1 h", HOUR), ("24 h", DAY), (f"{days} d", days * DAY)):
            queries = []
            for _ in range(rounds + 1):
                latest = (dataset.end_ms - dataset.start_ms - span) // 60_000
                end = dataset.end_ms - int(rng.integers(0, latest + 1)) * 60_000
                chosen = tuple(sorted(rng.choice(hosts, size=count, replace=False).tolist()))
                queries.append(Chart(str(rng.choice(metrics)), chosen, end - span, end, WIDTH))
            plans.append((count, label, queries))
    return plans


def measure_load(systems, dataset, args, results: dict) -> None:
    """Encode every system's request bodies (untimed), then POST them in LOAD_SLICES slices in time order, the
    systems taking turns at each slice (so that other work on the machine weighs on all of them alike), each
    slice's background work waited for before the next system's turn; then flush/compaction and size."""
    bodies = {}
    for system in systems:
        system.prepare(dataset)
        bodies[system.name] = [system.encode(dataset, *batch) for batch in dataset.batches(args.batch)]
        say(f"{system.name}: {len(dataset):,} points in {len(bodies[system.name])} requests "
            f"({sum(map(len, bodies[system.name])) / 2 ** 20:.0f} MiB), {args.clients} clients")
    seconds, retries, load, catch_up = Counter(), Counter(), Counter(), Counter()
    for position in range(LOAD_SLICES):
        for system in rotated(systems, position):
            mine = bodies[system.name]
            took, retried = system.load(
                mine[len(mine) * position // LOAD_SLICES:len(mine) * (position + 1) // LOAD_SLICES], args.clients)
            seconds[system.name] += took
            retries[system.name] += retried
            load[system.name] += os.getloadavg()[0] / LOAD_SLICES
            catch_up[system.name] += system.catch_up()
        say(f"load slice {position + 1}/{LOAD_SLICES} done")
    del bodies
    for system in systems:
        name = system.name
        results["ingest"][name] = len(dataset) / seconds[name]
        results["retries"][name] = retries[name]
        results["load"][name] = load[name]
        results["catch_up"][name] = catch_up[name]
        results["ingest_total"][name] = len(dataset) / (seconds[name] + catch_up[name])
        say(f"{name}: {results['ingest'][name]:,.0f} points/s ({results['ingest_total'][name]:,.0f} with background "
            f"work), {retries[name]} requests retried after 502/503/504; flushing and compacting")
        results["disk"][system.name] = system.disk() / len(dataset)
        say(f"{system.name}: {results['disk'][system.name]:.2f} bytes per point on disk")


def measure_charts(systems, plans, results: dict) -> None:
    """A warm-up of every query (ours first: its step is everyone's bin), then rounds alternating systems."""
    ours = systems[0]
    for count, label, queries in plans:
        step = ours.step_ms(ours.chart(queries[0]))
        queries[:] = [Chart(q.metric, q.hosts, q.start_ms // step * step, -(-q.end_ms // step) * step, q.width, step)
                      for q in queries]  # whole bins, so every system reads the same points
        for system in systems:
            shipped = system.chart_values(system.chart(queries[0]))
            if count == 1:
                results["shipped"].setdefault(label, {})[system.name] = float(np.mean(shipped)) / (4 * WIDTH)
    for position in range(1, len(plans[0][2])):
        for count, label, queries in plans:
            for system in rotated(systems, position):
                seconds, _ = timed(system.chart, queries[position])
                results["chart"].setdefault((count, label), {}).setdefault(system.name, []).append(seconds)
        say(f"chart round {position}/{len(plans[0][2]) - 1} done")


def measure_raw(systems, dataset, rounds: int, results: dict) -> None:
    """One whole series per round, a different one each round, read by every system in turn."""
    for position in range(rounds):
        series = dataset.series[(position * 37) % len(dataset.series)]
        for system in rotated(systems, position):
            seconds, count = timed(system.raw, series.metric.name, series.host, dataset.start_ms, dataset.end_ms)
            if count != len(series.ts):
                raise BenchError(f"{system.name} read {count} points of {series.metric.name}/{series.host}, "
                                 f"not the {len(series.ts)} stored")
            results["raw"].setdefault(system.name, []).append(count / seconds)


def measure_promql(systems, dataset, args, results: dict) -> None:
    """The PromQL round (bench/promql.py), when Debian's Prometheus is installed."""
    if not shutil.which("prometheus"):
        if not args.no_peers_if_missing:
            raise BenchError("prometheus is not installed: run `tools/install.sh bench` "
                             "(or pass --no-peers-if-missing)")
        say("prometheus is not installed: no PromQL round")
        return
    victoria = next((system for system in systems if system.name == "victoria"), None)
    results["promql"], results["promql_load"] = promql.measure(systems[0], victoria, dataset, args)


def promql_table(results: dict) -> list[str]:
    """The PromQL round's section of RESULTS.md (empty when it did not run)."""
    if not results.get("promql"):
        return []
    names = ["ours", *(name for name in ("prometheus", "victoria") if name in next(iter(results["promql"].values())))]
    rows = Results(names)
    for label, values in results["promql"].items():
        rows.add(f"query_range, {label}: p50 (load {results['promql_load'][label]:.1f})", "ms", "lower", values)
    return ["## PromQL: query_range through each system's Prometheus API", "",
            "The same requests to `/api/v1/query_range` of ours (through nginx), Prometheus (Debian's, given the "
            "data set by remote write) and VictoriaMetrics (MetricsQL, response cache off), systems alternating; "
            "p50 of the chart rounds, after one warm-up request whose answers (series and point counts) must "
            "equal Prometheus'; in brackets the machine's mean 1-minute load average while each was measured "
            "(shared machine: compare the ratios). The last three ask 200 series of one counter "
            "(`requests_total{host}`, its last day, given to every system by remote write). `bench/promql.py`.", "",
            rows.markdown(), ""]


def rotated(items: list, by: int) -> list:
    by %= len(items)
    return items[by:] + items[:by]


def table(systems, results: dict, days: int) -> Results:
    """Every figure as one row: medians of rates, p50/p95 of latencies."""
    rows = Results([system.name for system in systems])
    rows.add("ingest", "points/s", "higher", results["ingest"])
    rows.add("ingest, background work (rollups) included", "points/s", "higher", results["ingest_total"])
    for (count, label), samples in results["chart"].items():
        for q in (50, 95):
            rows.add(f"chart, {count} series, {label}: p{q}", "ms", "lower",
                      {name: percentile(values, q) * 1000 for name, values in samples.items()})
    rows.add(f"raw read, 1 series, {days} d", "points/s", "higher",
              {name: float(np.median(rates)) for name, rates in results["raw"].items()})
    rows.add("disk, after flush and compaction", "bytes/point", "lower", results["disk"])
    for label, values in results["shipped"].items():
        rows.add(f"values per series ÷ (4 × {WIDTH}), {label}", "ratio", "≤ 1", values)
    for shape, rates in results["remote_write"].items():
        rows.add(f"remote_write ingest, {shape}", "samples/s", "higher", rates)
    for label, value in results["fresh"].items():
        rows.add(f"fresh data: {label}" if label.startswith("visible") else f"chart of the {label}, 1 series: p50",
                 "ms", "lower", {"ours": value})
    return rows


def markdown(args, dataset, systems, result: Results, results: dict, facts: dict, seconds: float) -> str:
    """RESULTS.md: when, where, what, how, then the table."""
    lines = [
        "# Benchmark results", "",
        f"Written by `{'make bench QUICK=1' if args.quick else 'make bench'}` (`python -m bench.run"
        f"{' --quick' if args.quick else ''}`) on {facts['date']}, in {seconds / 60:.1f} minutes. Regenerate; "
        "do not edit.", "", "## Machine", "",
        *(f"- {key}: {value}" for key, value in facts["machine"].items()), "", "## Versions", "",
        *(f"- {system.name}: {system.version()}" for system in systems), "", "## Data set", "",
        f"- {len(dataset.series)} series: {len({s.metric.name for s in dataset.series})} metrics "
        f"({', '.join(sorted({f'{s.metric.name} ({s.metric.unit})' for s in dataset.series}))}) × "
        f"{len({s.host for s in dataset.series})} hosts (label `host`)",
        f"- {args.days} days at one point a minute, daily and weekly cycles, drift, noise, spikes and outages "
        f"(seeded numpy, `bench/dataset.py`): {len(dataset):,} points",
        "", "## Method", "",
        f"- ingest: {args.clients} concurrent keep-alive clients, {args.batch} points per request, request bodies "
        f"encoded before the clock starts, batches in time order across all series, in {LOAD_SLICES} slices with "
        "the systems taking turns at each; ours `POST /api/write` (JSON, one series item per series: its times "
        f"and values as lists) through nginx to {args.instances} instances, InfluxDB `/write?precision=ms` (line "
        "protocol), VictoriaMetrics `/api/v1/import/prometheus`",
        "- disk: allocated bytes (as `du`) of the stored data ÷ points, after ours `nodetool flush` + `compact` "
        "(keyspace folder), InfluxDB's cold shards snapshotted and fully compacted (data + wal), VictoriaMetrics "
        "`/internal/force_flush` + `force_merge` (data + indexdb)",
        f"- charts: width {WIDTH} px; ours `GET /api/query?metric=m{{host=...}}&width={WIDTH}` (avg + M4 per "
        "bin); InfluxDB `SELECT mean, min, max, first, last ... GROUP BY time(step), host`; VictoriaMetrics "
        "`query_range` of `aggr_over_time((avg, min, max, first, last)_over_time, m[step])`, with the step our "
        f"API chose, its response cache off; one warm-up, then {args.chart_rounds} rounds, systems alternating, "
        "random metrics, hosts and window ends (the same for every system)",
        f"- raw read: one whole series ({args.days} d) per round, {args.raw_rounds} rounds, median; ours "
        "`GET /api/metrics/<name>/data?limit=100000` following `X-Next-Cursor`, InfluxDB `SELECT value`, "
        "VictoriaMetrics `/api/v1/export`; each answer's point count checked against the data set",
        "- values per series: numbers (not nulls) in the 1-series chart answer ÷ (4 × width); ours counts "
        "`points` values and `min`/`max`/`first`/`last`",
        "- write requests retried after 502/503/504 (backoff 0.5 s doubling, counted in the ingest time): "
        + ", ".join(f"{name} {count}" for name, count in results["retries"].items()),
        "- background work after each slice (ours: rollup workers recomputing every marked partition), waited for "
        "before the next system's turn, counted in the second ingest row only: "
        + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in results["catch_up"].items()),
        "- machine load (1-minute load average, other work included) as each slice ended, averaged: "
        + ", ".join(f"{name} {load:.1f}" for name, load in results["load"].items()),
        f"- remote_write: one stream of WriteRequests (the first {remote_write.MINUTES[args.mode] // 60} h of the data "
        "set under other names), built with the real protobuf messages and snappy-compressed once, the same bytes "
        "POSTed to ours `/api/v1/write` (through nginx), VictoriaMetrics `/api/v1/write` and InfluxDB "
        "`/api/v1/prom/write`, in 3 slices with the systems taking turns; `scrape`: a request per minute of every "
        "series (what a Prometheus scraping once a minute sends), `backlog`: 10 minutes of every series per request "
        "(2,000 samples, as when it catches up); each slice's background work waited for, uncounted",
        f"- fresh data (ours only): {fresh.ROUNDS} one-point writes at the current time, each read until its point "
        "is there (`visible`: from the acknowledgement to the first read that returns it, p50/p99), then "
        f"{fresh.CHART_ROUNDS} rounds of a 1-minute chart of the newest minute and of the minute an hour before "
        "(`bench/fresh.py`)",
        "- ratios: ours ÷ peer (for latencies and bytes lower is better, for rates higher)",
        "", "## Results", "", *failed(facts), *caveat(facts, results), result.markdown(), "", *promql_table(results),
    ]
    return "\n".join(lines)


def failed(facts: dict) -> list[str]:
    """A warning above the table of a run that stopped at a failed stage: only the figures before it."""
    return [f"**Incomplete run**: a stage failed ({facts['failed']}); the table holds the figures measured before "
            "it.", ""] if "failed" in facts else []


def caveat(facts: dict, results: dict) -> list[str]:
    """A warning above the table when other work kept the machine busier than its cores during the run."""
    loads = [float(facts["machine"][key].split()[0]) for key in ("load average at start", "load average at end")]
    loads += list(results["load"].values())
    cores = os.cpu_count() or 1
    if max(loads) <= cores:
        return []
    return [f"The machine was shared: 1-minute load average {min(loads):.0f} to {max(loads):.0f} on {cores} cores "
            "from other work. Absolute figures are pessimistic and noisy; the systems take turns in the load and "
            "in the query rounds, so the ratios are fairer than the absolute figures.", ""]


def write(args, dataset, systems, result: Results, results: dict, facts: dict) -> None:
    """Print the table, write it as Markdown, and everything (with every sample) as JSON."""
    print(result.text(), flush=True)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(markdown(args, dataset, systems, result, results, facts, time.monotonic() - BEGAN))
    samples = {"chart": {f"{count} series, {label}": values for (count, label), values in results["chart"].items()},
               "raw": results["raw"]}
    (args.out / "results.json").write_bytes(orjson.dumps(
        {**facts, "mode": args.mode, "points": len(dataset), **result.to_json(), "retries": results["retries"],
         "catch_up_seconds": results["catch_up"], "promql_p50_ms": results["promql"],
         "promql_load_average": results["promql_load"],
         "samples": samples},
        option=orjson.OPT_INDENT_2))
    say(f"wrote {args.results} and {args.out / 'results.json'}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    args.__dict__.update(MODES[args.mode])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    facts = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine()}
    systems: list = []
    started: list = []
    dataset = None
    results: dict = {key: {} for key in ("ingest", "ingest_total", "retries", "load", "catch_up", "disk",
                                          "chart", "shipped", "raw", "remote_write", "fresh", "promql", "promql_load")}
    try:
        check_base_port(args.base_port)
        systems = systems_for(args)
        args.out.mkdir(parents=True, exist_ok=True)
        say(f"data set: {args.hosts * 4} series × {args.days} days")
        dataset = make_dataset(hosts=args.hosts, days=args.days)
        for system in systems:
            say(f"starting {system.name}")
            started.append(system)
            system.start()
        if args.remote_write_only:
            for system in systems:
                system.prepare(dataset)  # InfluxDB's database
        else:
            measure_load(systems, dataset, args, results)
        if not args.promql_only:  # the ingest figures first: a run stopped later still reports them
            remote_write.measure(systems, dataset, args.mode, args.clients, results["remote_write"])
            results["fresh"] = fresh.measure(systems[0])
        if not (args.remote_write_only or args.promql_only):
            measure_charts(systems, chart_plans(dataset, args.chart_rounds, args.days), results)
            measure_raw(systems, dataset, args.raw_rounds, results)
        if not args.remote_write_only:
            measure_promql(systems, dataset, args, results)
    except (Exception, SystemExit, KeyboardInterrupt) as error:  # a failed or stopped stage still writes what
        # the stages before it measured (SIGTERM arrives as SystemExit)
        facts["failed"] = str(error) if isinstance(error, BenchError) else f"{type(error).__name__}: {error}"
        print(f"error: {facts['failed']}", file=sys.stderr)
    finally:
        for system in reversed(started):
            say(f"stopping {system.name}")
            system.stop()
    if dataset is None:
        return 1
    facts["machine"]["load average at end"] = " ".join(f"{value:.2f}" for value in os.getloadavg())
    write(args, dataset, systems, table(systems, results, args.days), results, facts)
    return 1 if "failed" in facts else 0


if __name__ == "__main__":
    sys.exit(main())
