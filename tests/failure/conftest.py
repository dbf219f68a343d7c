"""The failure tests' own stack: 3 Cassandra nodes (RF 3, QUORUM) on 127.0.0.1-3, 4 instances, nginx.

Its ports (nginx 28080, instances 28081-28084, CQL 29042, storage 27000, JMX 27199/27299/27399) and folder are
its own, so killing its processes never touches the session's test node (19042) or a `make up` stack.
TEST_PORT_OFFSET moves every port as for the session's stack (JMX by three times it: the nodes' JMX ports
are 100 apart). While working on these tests, FAILURE_STACK_VAR=/some/dir keeps that stack running.
"""
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from harness import REPORT

from tools import stack as stacks

OFFSET = int(os.environ.get("TEST_PORT_OFFSET", "0"))


@pytest.fixture(scope="package")
def failure_stack(request) -> stacks.Stack:
    """A 3-node stack for the whole folder, stopped at the end (its logs kept when a test failed)."""
    kept = os.environ.get("FAILURE_STACK_VAR")
    var = Path(kept) if kept else Path(tempfile.mkdtemp(prefix="metrics_server_failure_"))
    var.mkdir(parents=True, exist_ok=True)
    var.chmod(0o755)  # nginx's unprivileged workers buffer request bodies under it
    stack = stacks.Stack(var=var, port=28080 + OFFSET, instances=4, nodes=3, cql_port=29042 + OFFSET,
                         storage_port=27000 + OFFSET, jmx_port=27199 + 3 * OFFSET, keyspace="metrics_failure",
                         cluster_name="metrics_failure", heap="768M", fast_start=True, durable_system=True,
                         supervised_nodes=False,
                         env={"METRICS_SERVER_LOG_LEVEL": "WARNING", "METRICS_SERVER_REPLICATION": "3",
                              "METRICS_SERVER_READ_CONSISTENCY": "QUORUM",
                              "METRICS_SERVER_WRITE_CONSISTENCY": "QUORUM", "METRICS_SERVER_THREADS": "8",
                              # auth on, as by default, with the session's admin token; no rate limits (one
                              # client under load)
                              "METRICS_SERVER_ADMIN_TOKEN": os.environ["METRICS_TEST_ADMIN_TOKEN"],
                              "METRICS_SERVER_TOKEN_RATE_LIMIT": "0", "METRICS_SERVER_RATE_LIMIT": "0"})
    started = time.monotonic()
    try:
        stacks.up(stack)
        REPORT.append(f"failure stack: 3 Cassandra nodes + 4 instances + nginx up in {time.monotonic() - started:.0f}s")
        yield stack
    finally:
        if not kept:
            stacks.down(stack)
            if request.session.testsfailed:
                REPORT.append(f"failure stack's logs kept in {stack.log_dir} and {var / 'cassandra'}/node*/logs")
            else:
                shutil.rmtree(var, ignore_errors=True)


@pytest.fixture
def cluster(failure_stack) -> stacks.Stack:
    """The failure stack with every process running and healthy, whatever the test before left stopped."""
    stacks.start_cassandra(failure_stack)
    for port in failure_stack.backend_ports:
        stacks.start_instance(failure_stack, port)
    for url in [f"http://127.0.0.1:{port}" for port in failure_stack.backend_ports] + [failure_stack.url]:
        stacks.wait_http(f"{url}/api/health", timeout=180, ok_statuses=(200,))
    return failure_stack


@pytest.fixture
def report(capsys):
    """Print a line now (even without -s) and again in the terminal summary of `make test`."""
    def emit(line: str) -> None:
        REPORT.append(line)
        with capsys.disabled():
            print(f"\n[failure] {line}", flush=True)
    return emit


def pytest_terminal_summary(terminalreporter):
    if REPORT:
        terminalreporter.section("failure tests: points sent / acknowledged / read back")
        for line in REPORT:
            terminalreporter.write_line(line)
