"""One of three Cassandra nodes crashes under ingest (RF 3, QUORUM): writes and queries go on, every acknowledged
point is read back from the two others, and once the node returns, hints give it what it missed.

A write acknowledged at the very moment of the kill may be missing on the node afterwards with no hint for it
(the two others have it, so QUORUM reads find it): the node alone is held to the points written while it was
down, and after a repair (what an operator runs after bringing a node back) to every acknowledged point."""
import signal
import time
import uuid
from datetime import UTC, datetime

import numpy as np
import pytest
import requests
from cassandra import ConsistencyLevel
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import WhiteListRoundRobinPolicy
from harness import AUTH, BASE_TS, Writers, figures, node_by_address, read_back, status_of, wait_until

from metrics_server.storage import codec, intake
from metrics_server.storage.points import shard_of
from metrics_server.storage.registry import series_id
from tools.cassandra import node as cassandra

pytestmark = pytest.mark.failure
VICTIM = "127.0.0.3"


class Queries:
    """A reader asking /api/query every half second through nginx, counting answers that were not 200."""

    def __init__(self, url: str, metric: str):
        self.url, self.metric = url, metric
        self.answers, self.failures = 0, []

    def once(self) -> None:
        """One query, retried once after a second like a dashboard would: a read that the coordinator sent to
        the dying node just before the failure detector marked it down can time out (503, retry is safe)."""
        params = {"metric": self.metric, "start": BASE_TS, "end": BASE_TS + 86_400_000, "width": 200}
        for _ in range(2):
            try:
                status = requests.get(f"{self.url}/api/query", params=params, headers=AUTH, timeout=30).status_code
            except requests.RequestException as error:
                status = type(error).__name__
            if status == 200:
                break
            time.sleep(1)
        self.answers += 1
        if status != 200:
            self.failures.append(status)


def points_on_node_alone(stack, metric: str, expected: set, rounds: int = 3) -> set:
    """Every (writer, ts) that the node at VICTIM serves by itself: the two others are frozen (SIGSTOP) and the
    read is at consistency ONE through a driver that talks to that node only. Hints are delivered by the others,
    so each round first waits for their hint files to go (they are flushed every 10 s), then freezes them."""
    cluster = Cluster([VICTIM], port=stack.cql_port, protocol_version=5, execution_profiles={
        EXEC_PROFILE_DEFAULT: ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([VICTIM]),
                                               consistency_level=ConsistencyLevel.ONE, request_timeout=15)})
    session = cluster.connect()
    others = [node for node in stack.cassandra_nodes() if node.address != VICTIM]
    select = session.prepare(f"SELECT ts FROM {stack.keyspace}.sharded_chunks WHERE metric = ? AND shard = ?"
                             f" AND bucket = ? AND series_id = ? ALLOW FILTERING")
    unmerged = session.prepare(f"SELECT written, series, sizes, ts, value FROM {stack.keyspace}.intake"
                               f" WHERE metric = ? AND bucket = ?")  # rows the worker has not merged yet
    bucket = datetime.fromtimestamp(BASE_TS / 1000, UTC)
    writers = sorted({writer for writer, _ in expected})
    found: set = set()
    try:
        for _ in range(rounds):
            wait_until(lambda: not any(cassandra.hint_files(node) for node in others), 120, 2,
                       what="the two other nodes to deliver their hints")
            time.sleep(12)
            if any(cassandra.hint_files(node) for node in others):
                continue
            for node in others:
                cassandra.kill(node, signal.SIGSTOP)
            try:
                deadline = time.monotonic() + 90
                while time.monotonic() < deadline:
                    try:  # until the node sees the frozen ones down, a read sent to one of them times out
                        found = {(writer, ts) for writer in writers for row in session.execute(
                            select, (metric, shard_of(series_id({"writer": writer})), bucket,
                                     series_id({"writer": writer})))
                                 for ts in codec.decode_ts([row[0]]).tolist()}
                        found |= intake_points(session.execute(unmerged, (metric, bucket)), writers)
                        if expected <= found:
                            return found
                    except Exception:
                        pass
                    time.sleep(1)
            finally:
                for node in others:
                    cassandra.kill(node, signal.SIGCONT)
        return found
    finally:
        cluster.shutdown()


def intake_points(rows, writers: list[str]) -> set:
    """The (writer, ts) of intake rows."""
    writer_of = {series_id({"writer": writer}): writer for writer in writers}
    found = set()
    for row in intake.stored(rows):
        sids, sizes, ts, _, _ = intake.decoded(tuple(row), ())
        found |= {(writer_of[sid], stamp) for sid, stamp in zip(np.repeat(sids, sizes).tolist(), ts.tolist())
                  if sid in writer_of}
    return found


def test_sigkill_one_of_three_nodes_under_ingest(cluster, report):
    metric = f"fail_node_{uuid.uuid4().hex[:8]}"
    victim = node_by_address(cluster, VICTIM)
    others = [node for node in cluster.cassandra_nodes() if node.address != VICTIM]
    queries = Queries(cluster.url, metric)
    started = time.monotonic()
    hints_seen = 0
    with Writers(cluster.url, metric, threads=4, batch=100, max_seconds=150, pause=0.2) as writers:
        wait_until(lambda: writers.acked_count() >= 2000, 60, what=lambda: f"ingest to get going: {writers.state()}")
        acked_at_kill = writers.acked_count()
        assert cassandra.kill(victim) is not None
        down_since = time.monotonic()
        while time.monotonic() - down_since < 15:
            queries.once()
            hints_seen = max(hints_seen, sum(len(cassandra.hint_files(node)) for node in others))
            time.sleep(0.5)
        # Every point acknowledged so far is there at QUORUM, from the two nodes that are left.
        acked_while_down = writers.acked
        stored_while_down = read_back(cluster.url, metric)
        acked_at_restart = writers.acked_count()
        restarting = time.monotonic()
        cassandra.start(victim)
        restart_seconds = time.monotonic() - restarting
        written_while_down = writers.acked_between(down_since, restarting)
        for _ in range(6):
            queries.once()
            time.sleep(0.5)
    seconds = time.monotonic() - started
    # Hints are delivered when the node is seen up again; then the node alone serves what it missed.
    hints_started = time.monotonic()
    on_victim = points_on_node_alone(cluster, metric, written_while_down)
    hints_seconds = time.monotonic() - hints_started
    # A write acknowledged by the others at the very moment of the kill may be missing on the node with no hint
    # for it; a repair is what an operator runs after bringing a node back, and then the node has everything.
    missed = writers.acked - on_victim
    repaired = None
    if missed:
        cassandra.nodetool(victim, "repair", "-full", cluster.keyspace)
        repaired = points_on_node_alone(cluster, metric, writers.acked)
    wait_until(lambda: status_of(f"{cluster.url}/api/health") == 200, 60, what="the stack to be healthy again")
    stored = read_back(cluster.url, metric)
    line = figures("Cassandra node SIGKILL + restart (3 nodes, RF 3, QUORUM)", writers, stored, seconds,
                   acked_while_node_down=acked_at_restart - acked_at_kill, hint_files_seen=hints_seen,
                   node_restart_seconds=round(restart_seconds, 1), hint_check_seconds=round(hints_seconds, 1),
                   written_while_node_down=len(written_while_down),
                   of_those_on_restarted_node_alone=len(written_while_down & on_victim),
                   acked_missing_on_node_after_hints=len(missed), missing_batches=writers.batches_of(missed),
                   acked_on_node_after_repair=None if repaired is None else len(writers.acked & repaired),
                   queries_answered=queries.answers, queries_failed=len(queries.failures))
    report(line)
    assert queries.failures == [], f"{line}; queries failed while a node was down: {queries.failures[:5]}"
    assert acked_while_down <= stored_while_down, \
        f"{line}; missing with the node down: {sorted(acked_while_down - stored_while_down)[:5]}"
    assert writers.acked <= stored and stored <= writers.sent, f"{line}; missing: {sorted(writers.acked - stored)[:5]}"
    assert written_while_down and written_while_down <= on_victim, \
        f"{line}; hints did not give the restarted node {writers.batches_of(written_while_down - on_victim)}"
    assert repaired is None or writers.acked <= repaired, f"{line}; even after a repair the node misses points"
    assert acked_at_restart - acked_at_kill > 0, f"nothing was acknowledged while the node was down: {line}"
    assert writers.failures == [], f"{line}; failed requests: {writers.failures[:5]}"
