"""The Prometheus project's PromQL compliance tester (prometheus/compliance, promql/) against us, deterministically.

A fixed data set shaped like its demo service's metrics (three instances scraped every 5 s for two hours:
memory, CPUs, CPU counters, disk, a classic request-duration histogram, a batch job's last-success time, and
an intermittent metric that goes stale) is remote-written, the same bytes, to a reference Prometheus (Debian's,
its own port and data folder) and to us (nginx and 4 instances); then the tester runs every query of its
promql-test-queries.yml (539 after expansion) as range queries at a fixed end time against both and compares.
The tester is built by tools/install.sh from shared/tools/prometheus-compliance (beside the repository, or
$METRICS_SHARED_DIR) into ~/.cache/metrics_server/compliance; without it the test skips, saying why.
"""
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import requests

from metrics_server.protocols import remote_write
from metrics_server.protocols.prometheus import STALE_NAN_BITS
from tests.protocols.conftest import AUTH, PROMETHEUS_PORT, TOKEN, receiving_prometheus

pytestmark = pytest.mark.peers

SHARED = Path(os.environ.get("METRICS_SHARED_DIR", Path(__file__).resolve().parents[2].parent / "shared"))
QUERIES = SHARED / "tools" / "prometheus-compliance" / "promql" / "promql-test-queries.yml"
TESTER = Path.home() / ".cache" / "metrics_server" / "compliance" / "promql-compliance-tester"
PORT = PROMETHEUS_PORT + 8  # +0 and +2: the reference test's Prometheus and reader; +3 and +4: the alerting tests' Alertmanager and webhook (open all session)
HEADERS = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
           "X-Prometheus-Remote-Write-Version": "0.1.0", **AUTH}
T0 = 1_700_000_000  # seconds: the data covers T0 .. T0 + 2 h
END = T0 + 7140  # the tester's fixed end time; it asks 10 minutes up to it, every 10 s
INSTANCES = [f"demo.promlabs.com:{port}" for port in (10000, 10001, 10002)]
STALE = float(np.uint64(STALE_NAN_BITS).view(np.float64))
BUCKETS = ("0.0001", "0.00015", "0.0002", "0.0003", "0.0005", "0.001", "0.005", "0.01", "0.05", "+Inf")
PASSED = re.compile(r"Total: (\d+) / (\d+) \(([\d.]+)%\) passed")
TOMBSTONES = re.compile(r"Read \d+ live rows and \d+ tombstone cells.*")


def demo_data() -> list[tuple[dict, list[tuple[int, float]]]]:
    """(labels, [(ms, value)]) per series, seeded: what Prometheus would scrape from three demo services."""
    rng = np.random.default_rng(22)
    times = np.arange(T0, T0 + 7200 + 1, 5) * 1000
    out = []

    def add(name: str, labels: dict, values, at=times):
        out.append(({"__name__": name, "job": "demo", **labels}, list(zip(at.tolist(), np.asarray(values).tolist()))))

    for n, instance in enumerate(INSTANCES):
        wave = np.sin(times / 600_000 + n)
        for kind, base in (("free", 4e9), ("used", 3e9), ("buffers", 2e8), ("cached", 9e8)):
            add("demo_memory_usage_bytes", {"instance": instance, "type": kind},
                np.round(base * (1 + 0.1 * wave) + rng.normal(0, 1e6, len(times))))
        add("demo_num_cpus", {"instance": instance}, np.full(len(times), 4.0 + n % 2))
        for mode, speed in (("idle", 3.0), ("user", 0.6), ("system", 0.3)):
            counter = np.cumsum(rng.uniform(0, 2 * speed * 5, len(times)))
            if n == 1 and mode == "user":
                counter[700:] -= counter[700] - 1.0  # the service restarted: a counter reset
            add("demo_cpu_usage_seconds_total", {"instance": instance, "mode": mode}, counter.round(3))
        add("demo_disk_usage_bytes", {"instance": instance},
            np.round(1e10 + 2e5 * (times - times[0]) / 1000 + rng.normal(0, 5e6, len(times))))
        add("demo_disk_total_bytes", {"instance": instance}, np.full(len(times), 1e11))
        batch = times[0] / 1000 + 180 * np.floor((times - times[0]) / 180_000)  # a batch job every 3 minutes
        add("demo_batch_last_success_timestamp_seconds", {"instance": instance}, batch)
        for method, path, status, rate in (("GET", "/api/foo", "200", 5.0), ("POST", "/api/foo", "200", 2.0),
                                           ("GET", "/api/bar", "500", 0.3), ("POST", "/api/bar", "200", 1.0)):
            per_bucket = rng.poisson([rate * k for k in (0.1, 0.2, 0.3, 0.6, 1, 1.5, 0.8, 0.3, 0.1, 0.05)],
                                     (len(times), len(BUCKETS)))
            cumulative = np.cumsum(np.cumsum(per_bucket, axis=0), axis=1).astype(float)
            labels = {"instance": instance, "method": method, "path": path, "status": status}
            for column, le in enumerate(BUCKETS):
                add("demo_api_request_duration_seconds_bucket", {**labels, "le": le}, cumulative[:, column])
            add("demo_api_request_duration_seconds_count", labels, cumulative[:, -1])
            add("demo_api_request_duration_seconds_sum", labels, np.cumsum(per_bucket.sum(axis=1) * 0.0008).round(4))
        shown = (times - times[0]) // 60_000 % 5 < 3  # exposed 3 minutes of every 5, then gone: a stale marker
        values = np.where(shown, 1.0 + n, STALE)
        keep = shown | np.concatenate(([False], shown[:-1]))
        add("demo_intermittent_metric", {"instance": instance}, values[keep], times[keep])
    return out


def written_in_time_order(url: str, data, headers: dict) -> None:
    """The data set in 20-minute slices, oldest first: Prometheus' head accepts samples up to an hour older than
    its newest."""
    for start in range(T0 * 1000, (T0 + 7201) * 1000, 1_200_000):
        part = [(labels, [(t, v) for t, v in samples if start <= t < start + 1_200_000]) for labels, samples in data]
        body = remote_write.encode([(labels, samples) for labels, samples in part if samples])
        response = requests.post(f"{url}/api/v1/write", data=body, timeout=300, headers=headers)
        assert response.status_code == 204, f"{url}: {response.status_code} {response.text}"


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Debian's Prometheus with the remote-write receiver and no scrape jobs, in a temporary folder."""
    if not TESTER.exists() or not QUERIES.exists():
        pytest.skip(f"the compliance tester is not built ({TESTER}) or its queries are absent ({QUERIES}): "
                    "shared/ sits beside the repository in CI, and tools/install.sh test builds the tester")
    folder = tmp_path_factory.mktemp("compliance")
    with receiving_prometheus(folder, PORT) as url:
        yield url, folder


def test_the_promql_compliance_tester_passes_every_query(reference, live_stack, cassandra_node):
    """Every query answers as Prometheus does; and no read of the fresh data met tombstones enough for Cassandra
    to warn (issue 23: 1,281 warnings in such a run, "Read 78 live rows and 3232 tombstone cells")."""
    prometheus, folder = reference
    log = cassandra_node.log_dir / "system.log"
    logged_before = log.stat().st_size
    data = demo_data()
    written_in_time_order(prometheus, data, HEADERS)
    written_in_time_order(live_stack.url, data, HEADERS)
    targets = folder / "targets.yml"
    targets.write_text(
        f"reference_target_config:\n  query_url: '{prometheus}'\n"
        f"test_target_config:\n  query_url: '{live_stack.url}'\n  headers:\n    Authorization: 'Bearer {TOKEN}'\n"
        f"query_time_parameters:\n  end_time: '{END}'\n  range_in_seconds: 600\n  resolution_in_seconds: 10\n")
    done = subprocess.run([str(TESTER), f"-config-file={QUERIES}", f"-config-file={targets}", "-query-parallelism=2"],
                          capture_output=True, text=True, timeout=1800)
    summary = PASSED.search(done.stdout)
    assert summary, f"no summary from the tester: {done.stdout[-2000:]} {done.stderr[-2000:]}"
    passed, total = int(summary[1]), int(summary[2])
    print(f"PromQL compliance: {passed} / {total} ({summary[3]} %)")
    failures = done.stdout[:20_000] if passed < total else ""
    assert (passed, total) == (539, 539), failures
    with log.open("rb") as text:
        text.seek(logged_before)
        warnings = TOMBSTONES.findall(text.read().decode(errors="replace"))
    print(f"Cassandra's tombstone warnings during the test: {len(warnings)}")
    assert not warnings, f"{len(warnings)} reads met tombstones, first: {warnings[0]}"
