"""The rollup worker against a real Cassandra: it puts recomputation off while its process is busy serving, and
catches up once the process is idle, or once it has waited `max_defer` seconds."""
import time

import pytest

from metrics_server.run import QUIET, InFlight
from metrics_server.storage.intake import INTAKE, SETTLE_MS
from metrics_server.storage.registry import series_id
from metrics_server.storage.rollups import SHARDS, RollupWorker, shard_of

DAY0 = 1_704_067_200_000  # 2024-01-01
DAY = 86_400_000


def seconds_until_recomputed(rollups, metric, timeout: float = 30) -> float:
    start = time.monotonic()
    while rollups.pending(metric, [series_id({})]):
        if time.monotonic() - start > timeout:
            pytest.fail(f"marks still pending after {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - start


@pytest.fixture
def marked(client, app, name):
    """A metric with one pending mark (its intake rows'), and the rollups it is pending in. Every write marks
    (mark_cache 0), so the worker needs not wait for writes that relied on an earlier mark."""
    rollups = app.extensions["rollups"]
    rollups.mark_cache = 0
    client.post_json("/api/write", [{"name": name, "value": 1, "timestamp": DAY0}], status=201)
    metric = app.extensions["registry"].get(name)
    assert rollups.pending(metric, [series_id({})]) == {(series_id({}), DAY0)}
    return rollups, metric


def run_worker(rollups, busy, max_defer: float) -> RollupWorker:
    worker = RollupWorker(rollups, pause=0.05, settle=0, busy=busy, max_defer=max_defer)
    worker.start()
    return worker


def test_a_busy_process_defers_rollups_until_it_is_idle(marked):
    rollups, metric = marked
    state = {"busy": True}
    worker = run_worker(rollups, lambda: state["busy"], max_defer=3600)
    try:
        time.sleep(1.5)
        assert rollups.pending(metric, [series_id({})])
        state["busy"] = False  # then its intake rows settle (SETTLE_MS), are merged, and its series recomputed
        assert seconds_until_recomputed(rollups, metric) < SETTLE_MS / 1000 + 20  # 16 s passed at load 8
    finally:
        worker.stop()
        worker.join(10)


def test_a_process_busy_for_good_still_recomputes_after_max_defer(marked):
    rollups, metric = marked
    worker = run_worker(rollups, lambda: True, max_defer=2.0)
    try:
        assert 1.5 < seconds_until_recomputed(rollups, metric) < 15
    finally:
        worker.stop()
        worker.join(10)


def test_a_paused_worker_looks_at_once_when_its_own_process_marks(client, app, name, drain):
    """Issue 22: idle instances read all 32 mark shards every second, beside the queries they served. An idle
    worker now pauses longer, so a write of its own process must wake it: here a pause of 60 s is cut short."""
    rollups = app.extensions["rollups"]
    rollups.backlog.clear()
    worker = RollupWorker(rollups, pause=60, settle=0)
    worker.start()
    try:
        until(lambda: len(rollups.backlog) == SHARDS)  # its first pass, then the pause
        rollups.backlog.clear()
        time.sleep(1)
        assert not rollups.backlog
        client.post_json("/api/write", [{"name": name, "value": 1, "timestamp": DAY0}], status=201)
        until(lambda: len(rollups.backlog) == SHARDS, timeout=5)
    finally:
        worker.stop()
        worker.join(10)
        drain()  # no mark left for the next test's pass
    assert not worker.is_alive()  # stop wakes it too


def until(done, timeout: float = 10) -> None:
    start = time.monotonic()
    while not done():
        if time.monotonic() - start > timeout:
            pytest.fail(f"not done within {timeout} s")
        time.sleep(0.05)


def test_a_process_counts_as_busy_while_serving_and_for_a_quiet_moment_after():
    served = []

    def app(environ, start_response):
        served.append(counted.busy())
        start_response("200 OK", [])
        return [b"ok"]

    counted = InFlight(app)
    time.sleep(QUIET)
    assert not counted.busy()
    body = counted({}, lambda status, headers: None)
    assert served == [True] and counted.busy()
    body.close()
    assert counted.busy()
    time.sleep(QUIET + 0.1)
    assert not counted.busy()


def test_a_pass_stops_at_its_limit(client, app, db, name):
    app.extensions["rollups"].mark_cache = 0
    app.extensions["points"].clock = lambda: time.time() + 60  # the intake rows taken as settled
    client.post_json("/api/write", [{"name": name, "value": 1, "timestamp": DAY0 + day * DAY}
                                    for day in range(3)], status=201)  # three buckets: three intake marks

    def marks() -> int:
        return sum(1 for row in db.session.execute(f"SELECT metric, series_id FROM {db.keyspace}.dirty")
                   if tuple(row) == (name, INTAKE))

    assert marks() == 3
    assert app.extensions["rollups"].run_once(limit=2) == 2
    assert marks() == 1


def test_the_rollup_backlog_is_a_self_metric(marked, client, drain):
    rollups, metric = marked
    shard = shard_of(metric.name, INTAKE)
    rollups.backlog.clear()
    rollups.run_once(keep_going=lambda: shard not in rollups.backlog)  # a pass stopped once it has counted them
    assert rollups.backlog[shard] >= 1
    text = client.get("/metrics").text
    gauge = next(line for line in text.splitlines() if line.startswith("metrics_server_rollup_backlog "))
    assert float(gauge.split()[1]) >= 1
    drain()
    assert rollups.backlog[shard] == 0 and not rollups.pending(metric, [series_id({})])
