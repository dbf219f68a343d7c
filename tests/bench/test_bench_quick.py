"""The benchmark harness end to end in quick mode against real services, so it never rots: it must start every
installed system, load, query and measure them, stop them, and fill every row. No speed is asserted."""
import itertools
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "RESULTS.md"
# nginx 24080, instances 24081-24084, CQL 25042, InfluxDB 24086, Prometheus 24090, VictoriaMetrics 24428 (plus
# TEST_PORT_OFFSET, as every test port): below Linux's ephemeral ports (32768-60999), which a client's connection
# may hold when a daemon binds (48090 did once)
BASE_PORT = 24000 + int(os.environ.get("TEST_PORT_OFFSET", "0"))


OURS_ONLY = ("fresh data", "chart of the")  # bench/fresh.py: how soon our own writes are visible, ours alone


def committed_results() -> bytes | None:
    return RESULTS.read_bytes() if RESULTS.exists() else None


@pytest.fixture(scope="module")
def quick_run():
    """One `python -m bench.run --quick` in bench/out/test (not under /tmp: nginx's workers, which buffer large
    request bodies to disk, cannot write into pytest's private 0700 folders), on ports of its own."""
    folder = ROOT / "bench" / "out" / "test"
    shutil.rmtree(folder, ignore_errors=True)
    before = committed_results()
    run = subprocess.Popen(
        [sys.executable, "-m", "bench.run", "--quick", "--no-peers-if-missing", "--out", str(folder / "out"),
         "--results", str(folder / "RESULTS.md"), "--base-port", str(BASE_PORT)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = run.communicate(timeout=840)
    except subprocess.TimeoutExpired:  # SIGTERM, not subprocess.run's SIGKILL: the bench stops what it started
        run.terminate()
        stdout, stderr = run.communicate(timeout=120)
    assert run.returncode == 0, f"bench.run failed:\n{stdout[-3000:]}\n{stderr[-3000:]}"
    return {"folder": folder, "stdout": stdout, "before": before,
            "json": json.loads((folder / "out" / "results.json").read_text())}


@pytest.mark.timeout(900)  # the quick run takes 4-8 min beside the other test group
def test_every_row_has_a_figure_for_every_system(quick_run):
    data = quick_run["json"]
    assert data["systems"][0] == "ours" and data["mode"] == "quick" and data["points"] > 50_000
    labels = [row["label"] for row in data["rows"]]
    assert labels[0] == "ingest" and labels[1].startswith("ingest, background") and len([label for label in labels if label.startswith("chart,")]) == 12
    assert any(label.startswith("raw read") for label in labels) and any(label.startswith("disk") for label in labels)
    assert len([label for label in labels if label.startswith("values per series")]) == 3
    for row in data["rows"]:
        for system in data["systems"][:1] if row["label"].startswith(OURS_ONLY) else data["systems"]:
            value = row["values"].get(system)
            assert value is not None and math.isfinite(value) and value > 0, (row["label"], system, value)


@pytest.mark.timeout(900)  # the quick run takes 4-8 min beside the other test group
def test_markdown_table_is_complete_and_the_committed_results_untouched(quick_run):
    text = (quick_run["folder"] / "RESULTS.md").read_text()
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("| "))
    table = list(itertools.takewhile(lambda line: line.startswith("| "), lines[first:]))  # the main table
    assert len(table) == 2 + len(quick_run["json"]["rows"])  # header, rule, one line per figure
    for line in table:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert all(cells[:4] if cells[0].startswith(OURS_ONLY) else cells), line
    assert "ours/" in table[0] or len(quick_run["json"]["systems"]) == 1
    assert committed_results() == quick_run["before"]


@pytest.mark.timeout(60)
def test_everything_it_started_is_stopped(quick_run):
    out = quick_run["folder"] / "out"
    assert not list(out.rglob("*.pid")), "a pid file is left: something still runs"
    assert "stopping ours" in quick_run["stdout"]


@pytest.mark.timeout(60)
@pytest.mark.skipif(not shutil.which("prometheus"), reason="Debian's prometheus is not installed")
def test_the_promql_round_times_ours_against_prometheus(quick_run):
    rounds, loads = quick_run["json"]["promql_p50_ms"], quick_run["json"]["promql_load_average"]
    assert len(rounds) == 7 and sum("200 series" in label for label in rounds) == 3
    for label, values in rounds.items():
        assert values["ours"] > 0 and values["prometheus"] > 0 and loads[label] >= 0, label
    assert "## PromQL" in (quick_run["folder"] / "RESULTS.md").read_text()
