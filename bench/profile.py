"""Where one instance's time goes: `python -m bench.profile [--days 2] [--only promql]` (needs py-spy in .venv).

Starts our stack on its own ports (--base-port, 26000), sends writes, then 30-day chart queries and the PromQL round's
small query_range (one series, 24 h, step 1 m) straight to one instance while py-spy samples it twice per phase:
holding the GIL (the process's Python CPU, all threads) and with idle frames (the wall time of the request
threads, waits on Cassandra included). Prints the top functions of each and keeps the collapsed stacks (for a
flame graph) under bench/out/profile/.
"""
import argparse
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench import promql
from bench.base import BenchError, Chart, get, post_all, say, timed
from bench.dataset import METRICS, make_dataset
from bench.ours import Ours

HERE = Path(__file__).resolve().parent
PY_SPY = Path(sys.executable).parent / "py-spy"
REQUEST_FRAME = "wsgi_app"  # flask.app: a request thread is inside it while it handles a request


class Sampler:
    """py-spy recording one process into a raw (collapsed stacks) file until stopped."""

    def __init__(self, pid: int, output: Path, mode: str):
        flags = {"gil": ["--gil"], "wall": ["--idle"]}[mode]
        self.output = output
        self.process = subprocess.Popen(
            [str(PY_SPY), "record", "-p", str(pid), "-f", "raw", "-o", str(output), "-r", "200", "--nolineno",
             "--nonblocking", *flags], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1.0)  # attached

    def stop(self) -> Counter:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=60)
        stacks: Counter = Counter()
        for line in self.output.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if stack:
                stacks[tuple(stack.split(";"))] += int(count)
        return stacks


def top(stacks: Counter, only_requests: bool, limit: int = 16) -> list[str]:
    """Lines 'inclusive% own% function': the functions with the most own samples, then the most inclusive."""
    if only_requests:
        stacks = Counter({stack: n for stack, n in stacks.items() if any(REQUEST_FRAME in f for f in stack)})
    total = sum(stacks.values()) or 1
    inclusive: Counter = Counter()
    own: Counter = Counter()
    for stack, n in stacks.items():
        for frame in set(stack):
            inclusive[frame] += n
        own[stack[-1]] += n

    def line(frame: str) -> str:
        return f"{100 * inclusive[frame] / total:6.1f}% {100 * own[frame] / total:6.1f}%  {frame}"

    return (["-- by own time"] + [line(f) for f, _ in own.most_common(limit)]
            + ["-- by inclusive time"] + [line(f) for f, _ in inclusive.most_common(2 * limit)]
            + [f"({total} samples)"])


def profile(name: str, pid: int, folder: Path, work) -> None:
    """Run `work` twice, once per sampling mode, and print both summaries."""
    for mode, only_requests in (("gil", False), ("wall", True)):
        sampler = Sampler(pid, folder / f"{name}-{mode}.txt", mode)
        seconds = work(mode)
        stacks = sampler.stop()
        view = "request threads, wall time incl. waits" if only_requests else "all threads, holding the GIL"
        say(f"{name}, {view} ({seconds:.1f} s of work)")
        print("inclusive% own% function")
        print("\n".join(top(stacks, only_requests)), flush=True)


def profile_promql(ours, pid: int, folder: Path, dataset, queries: int) -> None:
    """The PromQL round's smallest query (bench/promql.py's first): one series over the data's last 24 h, step 1 m."""
    _, expr, span, step = promql.queries(dataset, days=1)[0]
    end = dataset.end_ms - dataset.end_ms % 3_600_000
    params = {"query": expr, "start": (end - span) / 1000, "end": end / 1000, "step": step}
    url = f"{ours.url}/api/v1/query_range"
    get(url, params)  # the chunk cache filled, as the round's warm-up request fills it
    profile("promql-1-series-24h", pid, folder,
            lambda mode: sum(timed(get, url, params)[0] for _ in range(queries)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=2, help="days of the 200 series written while sampling")
    parser.add_argument("--queries", type=int, default=10, help="30-day chart queries per sampling mode")
    parser.add_argument("--base-port", type=int, default=26000, help="as bench.run's (nginx BASE+80, ...)")
    parser.add_argument("--only", choices=("promql",),
                        help="profile only this phase (the data is written all the same)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if not PY_SPY.exists():
        print(f"error: {PY_SPY} not found: .venv/bin/pip install py-spy", file=sys.stderr)
        return 1
    folder = HERE / "out" / "profile"
    shutil.rmtree(folder, ignore_errors=True)
    ours = Ours(folder / "stack", args.base_port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        ours.start()
        port = ours.stack.backend_ports[0]
        pid = int((ours.stack.run_dir / f"backend-{port}.pid").read_text())
        ours.url = f"http://127.0.0.1:{port}"  # one instance takes every request, the one sampled
        dataset = make_dataset(hosts=50, days=args.days)  # the benchmark's 200 series: its batches' shape
        bodies = [ours.encode(dataset, *batch) for batch in dataset.batches(5000)]
        ours.prepare(dataset)
        halves = {"gil": bodies[:len(bodies) // 2], "wall": bodies[len(bodies) // 2:]}
        if args.only is None:
            profile("ingest", pid, folder, lambda mode: post_all(ours.write_url(), halves[mode], 4,
                                                                 ours.write_headers)[0])
        else:
            post_all(ours.write_url(), bodies, 4, ours.write_headers)
        if args.only == "promql":
            say(f"rollups caught up in {ours.catch_up():.0f} s")
            profile_promql(ours, pid, folder, dataset, 30 * args.queries)
            return 0
        month = make_dataset(hosts=4, days=30, metrics=METRICS[:1])  # 30 days of 4 series to chart
        post_all(ours.write_url(), [ours.encode(month, *batch) for batch in month.batches(5000)], 4,
                 ours.write_headers)
        say(f"rollups caught up in {ours.catch_up():.0f} s")
        hosts = tuple(series.host for series in month.series)
        for name, width, queries in (("rollups", 1200, 6 * args.queries), ("raw", 1800, args.queries)):
            # 1200 px: hour bins, read from hourly rollups; 1800 px: 30-minute bins, which need raw points
            chart = Chart(month.series[0].metric.name, hosts, month.start_ms, month.end_ms, width)
            profile(f"chart-4-series-30d-{name}", pid, folder,
                    lambda mode, chart=chart, queries=queries: sum(timed(ours.chart, chart)[0] for _ in range(queries)))
        profile_promql(ours, pid, folder, dataset, 30 * args.queries)
        print(f"\ncollapsed stacks in {folder}", flush=True)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        ours.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
