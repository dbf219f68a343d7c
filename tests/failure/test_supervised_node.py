"""A Cassandra node of `make up` dies: its supervisor starts it again (issue 21: every process `make up` starts
is supervised). The failure stack's own nodes run unsupervised, as its other tests keep a node down on purpose."""
import os
import signal
import time

import pytest
from harness import wait_until

from tools.cassandra import node as cassandra

pytestmark = pytest.mark.failure


def test_a_supervised_node_killed_serves_again_by_itself(cluster, report):
    node = cluster.cassandra_nodes()[-1]
    cassandra.stop(node)
    try:
        pid = cassandra.start(node, supervised=True)
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        wait_until(lambda: cassandra.running_pid(node) not in (None, pid)
                   and cassandra.port_open(node.address, node.cql_port), 300, 1,
                   what=lambda: f"node {node.address} back after SIGKILL: {cassandra.last_error(node)}")
        report(f"a supervised Cassandra node SIGKILLed serves CQL again after {time.monotonic() - killed:.0f} s")
    finally:
        cassandra.stop(node)  # and its supervisor; the next test's `cluster` starts it again as before
