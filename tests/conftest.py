"""Real services for the tests: a throw-away Cassandra node, the app, and on demand a whole stack behind nginx.

Everything runs on its own ports (Cassandra 19042, nginx 18080, instances 18081-18084) and in a temporary
folder, so a `make up` stack on the default ports is never touched. Auth is on, as by default: the app and
the stacks get an admin token through config (`admin_token`), which every test client sends; the auth tests
mint the other tokens they need.
"""
import os
import secrets
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import webtest

from metrics_server.app import create_app
from metrics_server.config import load_config
from metrics_server.errors import StorageUnavailable
from metrics_server.storage.cql_schema import apply_schema
from metrics_server.storage.db import Database
from tools import stack as stacks
from tools.cassandra import node as cassandra

# TEST_PORT_OFFSET lets two test runs share a machine (e.g. 100 moves Cassandra to 19142, nginx to 18180).
OFFSET = int(os.environ.get("TEST_PORT_OFFSET", "0"))
CQL_PORT = 19042 + OFFSET
KEYSPACE = "metrics_test"
# The session's admin token, in the environment so that helper modules (tests/failure/harness.py) find it too.
ADMIN_TOKEN = os.environ.setdefault("METRICS_TEST_ADMIN_TOKEN", "mts_test_admin_" + secrets.token_urlsafe(32))
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
# What every test stack's instances get: auth on with the admin token; no per-token or per-IP rate limits,
# since the whole test run is one client on 127.0.0.1 (tests/deploy and tests/auth check the limits).
SETTLED_AHEAD = 600  # seconds the `drain` fixture moves the clock: past every settle time of the worker
STACK_ENV = {"METRICS_SERVER_ADMIN_TOKEN": ADMIN_TOKEN, "METRICS_SERVER_TOKEN_RATE_LIMIT": "0",
             "METRICS_SERVER_RATE_LIMIT": "0"}


@pytest.fixture(scope="session")
def test_var():
    """The session's folder: Cassandra data, logs, pid files, nginx config (not pytest's tmp_path, whose
    clean-up of old sessions could delete it under a long run when other pytest runs share the machine)."""
    folder = Path(tempfile.mkdtemp(prefix="metrics_server_test_"))
    # nginx's workers run unprivileged and buffer large bodies under the stack's folder: it must be traversable.
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def test_stack(test_var) -> stacks.Stack:
    """The layout of the test stack (nothing started yet)."""
    return stacks.Stack(var=test_var, port=18080 + OFFSET, instances=4, cql_port=CQL_PORT,
                        storage_port=17000 + OFFSET, jmx_port=17199 + OFFSET, graphite_port=12003 + OFFSET,
                        keyspace=KEYSPACE, cluster_name="metrics_test", fast_start=True,
                        env={"METRICS_SERVER_LOG_LEVEL": "WARNING",
                             "METRICS_SERVER_GRAPHITE_TEMPLATES": "collectd.* .host.name*", **STACK_ENV})


@pytest.fixture(scope="session")
def cassandra_node(test_stack):
    """A real Cassandra node for the whole session, stopped at the end."""
    node = test_stack.cassandra_nodes()[0]
    cassandra.start(node)
    yield node
    cassandra.stop(node)


@pytest.fixture(scope="session")
def config(cassandra_node):
    return load_config(environ={}, cassandra=[cassandra_node.address], cassandra_port=CQL_PORT, keyspace=KEYSPACE,
                       admin_token=ADMIN_TOKEN, token_rate_limit=0)


@pytest.fixture(scope="session")
def db(config):
    """One driver session for the test process, with the schema applied."""
    database = Database(config)
    for attempt in range(6):  # a just-started node on a loaded machine may miss the driver's 5 s connect timeout
        try:
            apply_schema(database)
            break
        except StorageUnavailable:
            if attempt == 5:
                raise
            time.sleep(3)
    yield database
    database.close()


@pytest.fixture
def app(config, db):
    """A fresh app (fresh caches and self-metrics) on the shared session."""
    return create_app(config, db=db)


@pytest.fixture
def drain(app):
    """Run the rollup worker until nothing is left, as if every write were long settled: intake rows merged and
    chunks compacted (the point store's clock moved past their settle times), every mark taken at once."""
    def run() -> None:
        points = app.extensions["points"]
        points.clock = lambda: time.time() + SETTLED_AHEAD
        try:
            while app.extensions["rollups"].run_once(settle=-SETTLED_AHEAD):
                pass
        finally:
            points.clock = time.time
    return run


@pytest.fixture
def client(app) -> webtest.TestApp:
    """The app as the admin token sees it."""
    client = webtest.TestApp(app)
    client.authorization = ("Bearer", ADMIN_TOKEN)
    return client


@pytest.fixture(scope="session")
def auth_headers() -> dict[str, str]:
    """Headers that authenticate a request to a test stack as admin."""
    return dict(AUTH)


@pytest.fixture
def name() -> str:
    """A metric name no other test uses, so tests share one keyspace safely."""
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def live_stack(test_stack, db):
    """Four backend instances behind nginx serving the built frontend, on the test Cassandra."""
    stacks.up(test_stack)
    yield test_stack
    stacks.down(test_stack)


@pytest.fixture
def metrics_dropped(client, name):
    """The test's metrics (`name` and its _w, _m variants) deleted afterwards, with their rollup marks, so that
    later tests' workers do not wade through thousands of them."""
    yield
    for suffix in ("", "_w", "_m"):
        client.delete(f"/api/metrics/{name}{suffix}", status="*")
