"""Anomaly detection scored on the Numenta Anomaly Benchmark (issue 27), writing bench/ANOMALY.md:

1. our scorer (bench/nab_score.py) checked against NAB's scoreboard: the published result files of two detectors
   must score their published numbers to within 0.5 on every profile;
2. each detector of metrics_server/query/anomaly.py scored in-process on the whole corpus;
3. the default detector through the server: every file written with POST /api/write, its scores read back with
   GET /api/query?agg=anomaly, one bin per row, and scored;
4. the cost: scoring time per million points, memory per series.

    python -m bench.anomaly --nab PATH_TO_A_NAB_CHECKOUT   (github.com/numenta/NAB: data/, labels/, results/)
"""
import argparse
import json
import os
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import pandas as pd

from bench import nab_score
from bench.base import BenchError, get, say, session
from bench.ours import Ours
from metrics_server.query import anomaly
from metrics_server.query.bins import MAX_BINS
from tools import stack as stacks

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("numenta", "windowedGaussian")  # the published detectors whose scores our scorer must reproduce
TOLERANCE = 0.5
PROFILE_NAMES = {"standard": "standard", "reward_low_FP_rate": "reward low FP", "reward_low_FN_rate": "reward low FN"}
BATCH = 10_000  # points per write


@dataclass(frozen=True)
class DataFile:
    """One NAB data file: its path under data/, rows (timestamps in ms, values) and labelled windows."""

    relative: str
    file: nab_score.File
    ts_ms: np.ndarray
    values: np.ndarray

    @property
    def metric(self) -> str:
        """Its metric's name on our server: nab.<folder>.<file> (dots, letters, digits, '_' and '-' only)."""
        return "nab." + self.relative.removesuffix(".csv").replace("/", ".")


def load_corpus(nab: Path) -> list[DataFile]:
    """Every labelled file of the checkout's data/, in the label file's order."""
    corpus = []
    for relative, windows in sorted(nab_score.load_windows(nab).items()):
        frame = pd.read_csv(nab / "data" / relative)
        ts = pd.to_datetime(frame["timestamp"]).to_numpy().astype("datetime64[ms]").astype(np.int64)
        corpus.append(DataFile(relative, nab_score.as_file(frame["timestamp"], windows), ts,
                               frame["value"].to_numpy(dtype=np.float64)))
    return corpus


def all_profiles(files, scores) -> dict[str, tuple[float, float]]:
    """(threshold, normalised score) per profile."""
    return {name: nab_score.normalised_score(files, scores, profile) for name, profile in nab_score.PROFILES.items()}


def validate(nab: Path) -> list[dict]:
    """Our scorer on the published result files against NAB's published final scores."""
    published = json.loads((nab / "results" / "final_results.json").read_text())
    rows = []
    for detector in CHECKED:
        files, scores = nab_score.published_scores(nab, detector)
        for profile, (_, ours) in all_profiles(files, scores).items():
            rows.append({"detector": detector, "profile": profile, "published": published[detector][profile],
                         "ours": ours})
    return rows


def in_process(corpus: list[DataFile]) -> dict[str, dict]:
    """Each detector (and novelty without its episode rule) over every file, scored."""
    detectors = {"context (the default)": anomaly.context, "novelty": anomaly.novelty,
                 "novelty without episodes": lambda v: anomaly.novelty(v, gap=0),
                 "gaussian (NAB's baseline)": anomaly.gaussian}
    files = [data.file for data in corpus]
    return {name: all_profiles(files, [detector(data.values) for data in corpus])
            for name, detector in detectors.items()}


GRANULARITIES = (("minute", 60_000), ("hour", 3_600_000))


def chunks(ts_ms: np.ndarray, step_ms: int) -> list[tuple[int, int, int]] | None:
    """(lead, first, last) per query: rows first..last-1 answered, read from row lead on so that each has the
    HISTORY points its score depends on; None when bins of step_ms cannot hold that within the API's bins."""
    plan, first = [], 0
    while first < len(ts_ms):
        lead = max(first - anomaly.HISTORY, 0)
        last = int(np.searchsorted(ts_ms, ts_ms[lead] + (MAX_BINS - 1) * step_ms, side="left"))
        if last <= first:
            return None
        plan.append((lead, first, last))
        first = last
    return plan


def read_scores(system: Ours, data: DataFile) -> tuple[np.ndarray, int, int]:
    """The file's per-row scores from GET /api/query?agg=anomaly (rows in time order), in as few queries of
    minute (else hour) bins as the API's bin limit allows; how many rows shared a bin with another, and the bins
    answered."""
    ts = np.sort(data.ts_ms, kind="stable")
    name, step_ms, plan = next((name, step, plan) for name, step in GRANULARITIES
                               if (plan := chunks(ts, step)) is not None)
    scores, shared, answered = np.zeros(len(ts)), 0, 0
    for lead, first, last in plan:
        body = get(f"{system.url}/api/query", {"metric": data.metric, "start": int(ts[lead]),
                                               "end": int(ts[last - 1]) + step_ms, "granularity": name,
                                               "agg": "anomaly"}).json()
        points = body["series"][0]["points"]
        answered += len(points)
        starts = np.array([start for start, _ in points], dtype=np.int64)
        values = np.array([np.nan if value is None else value for _, value in points])
        bins = np.searchsorted(starts, ts[first:last], side="right") - 1
        shared += len(bins) - len(np.unique(bins))
        scores[first:last] = np.nan_to_num(values[bins], nan=0.0)
    return scores, shared, answered


def through_server(system: Ours, corpus: list[DataFile]) -> tuple[list[np.ndarray], dict]:
    """Every file written through the API and its scores read back per row (in the file's order); seconds spent
    and rows that shared a bin (a store keeps one point per time)."""
    scores, written, queried, shared, bins = [], 0.0, 0.0, 0, 0
    for data in corpus:
        response = session().post(f"{system.url}/api/metrics", timeout=30,
                                  json={"name": data.metric, "type": "gauge", "label_keys": []})
        if response.status_code not in (201, 409):
            raise BenchError(f"create {data.metric}: HTTP {response.status_code} {response.text[:200]}")
        began = time.perf_counter()
        for first in range(0, len(data.values), BATCH):
            part = slice(first, first + BATCH)
            body = orjson.dumps([{"name": data.metric, "labels": {}, "timestamps": data.ts_ms[part].tolist(),
                                  "values": data.values[part].tolist()}])
            answer = session().post(f"{system.url}/api/write", data=body, timeout=300,
                                    headers={"Content-Type": "application/json"})
            if answer.status_code >= 300:
                raise BenchError(f"write {data.metric}: HTTP {answer.status_code} {answer.text[:200]}")
        written += time.perf_counter() - began
        began = time.perf_counter()
        in_time, file_shared, file_bins = read_scores(system, data)
        queried += time.perf_counter() - began
        shared, bins = shared + file_shared, bins + file_bins
        file_order = np.empty(len(in_time))
        file_order[np.argsort(data.ts_ms, kind="stable")] = in_time
        scores.append(file_order)
        say(f"{data.relative}: {len(data.values)} rows scored through the server")
    return scores, {"write_s": written, "query_s": queried, "rows_sharing_a_bin": shared, "bins": bins}


def cost(runs: int = 3) -> dict:
    """Seconds to score a million points in-process, per detector (the best of `runs`: the machine is shared),
    and the peak memory numpy allocates for it."""
    values = np.cumsum(np.random.default_rng(1).normal(size=1_000_000))
    figures = {}
    for name, detector in anomaly.DETECTORS.items():
        seconds = []
        for _ in range(runs):
            began = time.perf_counter()
            detector(values)
            seconds.append(time.perf_counter() - began)
        tracemalloc.start()
        detector(values)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        figures[name] = {"seconds": min(seconds), "peak_bytes": peak}
    return figures


def markdown(checks, detectors, served, served_cost, costs, rows: int) -> str:
    """bench/ANOMALY.md."""
    def profiles_row(name, scores):
        return f"| {name} | " + " | ".join(f"{scores[p][1]:.1f}" for p in PROFILE_NAMES) + " |"

    lines = ["# Anomaly detection on the Numenta Anomaly Benchmark", "",
             "Written by `python -m bench.anomaly --nab <NAB checkout>` (bench/anomaly.py). NAB: 58 labelled series, "
             f"{rows:,} rows, 116 anomaly windows; data, labels and published results (c) Numenta, MIT licence. "
             "Scores are NAB's normalised scores (null detector 0, perfect 100), one threshold for the whole "
             "corpus per profile, chosen as NAB does (the best).", "",
             "## Our scorer against NAB's scoreboard", "",
             "bench/nab_score.py, written from NAB's published rules, on NAB's published result files:", "",
             "| detector | profile | published | ours | difference |", "|---|---|---|---|---|"]
    for row in checks:
        lines.append(f"| {row['detector']} | {PROFILE_NAMES[row['profile']]} | {row['published']:.2f} | "
                     f"{row['ours']:.2f} | {row['ours'] - row['published']:+.2f} |")
    lines += ["", "## Scores", "", "| detector | standard | reward low FP | reward low FN |", "|---|---|---|---|",
              profiles_row("**context through the server** (written with /api/write, read with "
                           "/api/query?agg=anomaly)", served)]
    lines += [profiles_row(f"{name} (in-process)", scores) for name, scores in detectors.items()]
    lines += ["", "NAB's scoreboard for comparison (standard): ARTime 74.9, Numenta HTM 70.1, contextOSE 69.9, "
              "earthgecko Skyline 58.2, KNN CAD 58.0, Random Cut Forest 51.7, Twitter ADVec 47.1, "
              "windowed Gaussian 39.6, random 16.8.", "",
              f"Through the server, {served_cost['rows_sharing_a_bin']} rows shared a bin with another row (rows of "
              "one timestamp in a file are one point in the store; nyc_taxi's half-hourly rows are read in hour "
              "bins, as minute bins cannot hold its history) and take that bin's score. A file longer than "
              "the API's 100,000 bins is read in several queries, each from "
              f"{anomaly.HISTORY:,} points before the first it answers: a score depends on no point further back "
              "(a unit test checks it), so the parts score as the whole would.", "",
              "## Cost", "",
              f"The machine (2 cores) was shared with other work: load average {os.getloadavg()[0]:.0f} at the end.",
              "",
              "| detector | scoring, s per million points (one core, best of 3) | numpy's peak memory for a million "
              "points |",
              "|---|---|---|"]
    for name, figure in costs.items():
        lines.append(f"| {name} | {figure['seconds']:.2f} | {figure['peak_bytes'] / 2**20:.0f} MiB |")
    write_rate = rows / served_cost["write_s"]
    lines += ["", f"Through the server: {rows:,} rows written in {served_cost['write_s']:.1f} s "
              f"({write_rate:,.0f} points/s, one client), their scores read in {served_cost['query_s']:.1f} s "
              f"({served_cost['query_s'] / rows * 1e6:.1f} s per million points: read from Cassandra, scored, "
              f"binned and sent as JSON in {served_cost['bins']:,} minute bins, one per row and most of them empty, "
              "so this is mostly the cost of the answers' size, not of scoring).", "",
              "Memory per series, as a streaming detector: context and novelty keep the series' last "
              f"{anomaly.WINDOW:,} values ({anomaly.WINDOW * 8 // 1024} KiB; the running maximum and minimum are "
              f"over them), context also where each of its {4 ** anomaly.CONTEXT_LENGTH} contexts last occurred "
              f"and the last {anomaly.CONTEXT_LENGTH} sides; gaussian keeps {anomaly.GAUSSIAN_WINDOW:,} values "
              f"({anomaly.GAUSSIAN_WINDOW * 8 // 1024} KiB) and two sums. The engine scores the points a query "
              "reads in one pass of array operations; their temporaries are the peak above."]
    return "\n".join(lines) + "\n"


def start_stack(system: Ours, attempts: int = 3) -> None:
    """Our stack started; on a loaded machine (load 30 on 2 cores here) the schema step's first connection to a
    Cassandra that has just started sometimes timed out (5 s): then the rest is started again on the running
    Cassandra (tools.stack.up starts only what is not running)."""
    try:
        system.start()
        return
    except BenchError as error:
        failure = error
    for _ in range(attempts - 1):
        say(f"{failure}; trying again")
        time.sleep(15)
        try:
            stacks.up(system.stack)
            return
        except RuntimeError as error:
            failure = error
    raise BenchError(f"our stack did not start: {failure}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nab", type=Path, required=True, help="a NAB checkout (data/, labels/, results/)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "anomaly", help="working folder")
    parser.add_argument("--base-port", type=int, default=25_600, help="ports of our stack (as bench.run's)")
    args = parser.parse_args()
    checks = validate(args.nab)
    for row in checks:
        say(f"scorer: {row['detector']} {row['profile']}: published {row['published']:.2f}, ours {row['ours']:.2f}")
    off = [row for row in checks if abs(row["ours"] - row["published"]) > TOLERANCE]
    if off:
        raise BenchError(f"our scorer is more than {TOLERANCE} off NAB's published scores: {off}")
    corpus = load_corpus(args.nab)
    detectors = in_process(corpus)
    for name, scores in detectors.items():
        say(f"{name}: {scores}")
    system = Ours(args.out / "stack", args.base_port)
    try:
        start_stack(system)
        served_scores, served_cost = through_server(system, corpus)
    finally:
        system.stop()
    served = all_profiles([data.file for data in corpus], served_scores)
    say(f"through the server: {served}")
    rows = sum(len(data.values) for data in corpus)
    (ROOT / "bench" / "ANOMALY.md").write_text(markdown(checks, detectors, served, served_cost, cost(), rows))
    say("wrote bench/ANOMALY.md")


if __name__ == "__main__":
    main()
