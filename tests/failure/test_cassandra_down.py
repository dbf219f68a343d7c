"""All of Cassandra goes down under ingest: writes answer 503 with a JSON error (never 2xx for data not stored),
health says 503, and the instances serve again by themselves once Cassandra is back.

The nodes are stopped as an orchestrator stops them (SIGTERM, then SIGKILL after 60 s); a single node's crash
is test_cassandra_node_kill's. A crash of every replica's machine at once can lose writes acknowledged since
the last commit-log sync (commitlog_sync: periodic, every 10 s): that is Cassandra's durability setting, not the
API's, and docs/deployment.md says how to choose it."""
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from harness import AUTH, Writers, figures, read_back, status_of, wait_until

from tools.cassandra import node as cassandra

pytestmark = pytest.mark.failure


def test_all_nodes_down_then_back(cluster, report):
    metric = f"fail_down_{uuid.uuid4().hex[:8]}"
    nodes = cluster.cassandra_nodes()
    instances = [f"http://127.0.0.1:{port}" for port in cluster.backend_ports]
    started = time.monotonic()
    with Writers(cluster.url, metric, threads=4, batch=100, max_seconds=400, pause=0.2,
                 pause_after_failure=0.25) as writers:
        wait_until(lambda: writers.acked_count() >= 2000, 60, what=lambda: f"ingest to get going: {writers.state()}")
        kills_began = time.monotonic()
        for node in reversed(nodes):
            cassandra.stop(node)
        down_at = time.monotonic()
        killed_at = f"{kills_began - writers.started:.2f}-{down_at - writers.started:.2f}"
        wait_until(lambda: status_of(f"{cluster.url}/api/health") == 503, 30, what="health to say 503")
        acked_at_outage = writers.acked_count()
        health = requests.get(f"{cluster.url}/api/health", timeout=10)
        write = requests.post(f"{cluster.url}/api/write", headers=AUTH, json=[{"name": metric, "labels": {"writer": "probe"},
                                                                 "value": 1.0}], timeout=30)
        time.sleep(5)  # the writers keep trying against a dead database
        acked_during_outage = writers.acked_count() - acked_at_outage
        restarting = time.monotonic()
        cassandra.start(nodes[0])  # the seed first: the others gossip with it as they start
        with ThreadPoolExecutor(len(nodes) - 1) as pool:  # then together, as they keep their tokens
            list(pool.map(cassandra.start, nodes[1:]))
        restart_seconds = time.monotonic() - restarting
        # No instance is restarted: each one's driver reconnects by itself.
        wait_until(lambda: all(status_of(f"{url}/api/health") == 200 for url in instances), 180, 1,
                   what="every instance to report healthy again")
        recovered_seconds = time.monotonic() - down_at
        acked_at_recovery = writers.acked_count()
        wait_until(lambda: writers.acked_count() >= acked_at_recovery + 2000, 60, what=lambda: f"ingest to resume: {writers.state()}")
    seconds = time.monotonic() - started
    stored = read_back(cluster.url, metric)
    statuses = {str(status): count for status, count in writers.statuses.items()}
    line = figures("all Cassandra nodes stopped, then restarted (instances not restarted)", writers, stored,
                   seconds, statuses=statuses, acked_during_outage=acked_during_outage,
                   nodes_restart_seconds=round(restart_seconds, 1), outage_to_healthy_seconds=round(recovered_seconds, 1))
    report(line)
    assert health.status_code == 503 and health.json()["status"] == "unavailable", health.text
    assert write.status_code == 503 and "Cassandra" in write.json()["error"], write.text
    assert writers.failures, f"no write failed while Cassandra was down: {line}"
    wrong = [failure for failure in writers.failures if failure[1] != 503 or not failure[2].startswith('{"error":')]
    assert wrong == [], f"{line}; failures other than a 503 JSON error: {wrong[:5]}"
    assert acked_during_outage == 0, f"writes were acknowledged with every Cassandra node dead: {line}"
    assert writers.acked <= stored and stored <= writers.sent, \
        f"{line}; killed at {killed_at}s; acknowledged but missing: {writers.batches_of(writers.acked - stored)}"
