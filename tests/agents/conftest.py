"""The agents' tests: real files, the real `metrics-server` command as a process, a real instance on Cassandra.

The instance listens on 18090 + TEST_PORT_OFFSET (next to the session stack's 18080-18084) and is started and
stopped by the tests that need it (the server-down test stops it on purpose), always stopped at the end.
"""
import dataclasses
import os
import random
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
import requests

from bench.accesslog import line
from tools import pidfile
from tools import stack as stacks

OFFSET = int(os.environ.get("TEST_PORT_OFFSET", "0"))
# The agents send the session's admin token (their --token default is $METRICS_SERVER_TOKEN).
AUTH = {"Authorization": "Bearer " + os.environ["METRICS_TEST_ADMIN_TOKEN"]}
AGENT_ENV = {**os.environ, "METRICS_SERVER_TOKEN": os.environ["METRICS_TEST_ADMIN_TOKEN"]}
ROOT = Path(__file__).resolve().parents[2]
COMMAND = [sys.executable, "-m", "metrics_server.agents"]


class Server:
    """One backend instance of the session's test stack on its own port."""

    def __init__(self, stack: stacks.Stack, port: int):
        self.stack, self.port = stack, port
        self.url = f"http://127.0.0.1:{port}"
        self.pid_file = stack.run_dir / f"backend-{port}.pid"

    def start(self) -> None:
        for folder in (self.stack.run_dir, self.stack.log_dir):
            folder.mkdir(parents=True, exist_ok=True)
        if not pidfile.running(self.pid_file) and port_taken(self.port):
            raise RuntimeError(f"port {self.port} is taken by a process this session did not start "
                               "(an instance left by an interrupted run?)")
        stacks.start_instance(self.stack, self.port)
        try:
            stacks.wait_http(f"{self.url}/api/health", timeout=300, ok_statuses=(200,))
        except RuntimeError as error:
            log = (self.stack.log_dir / f"backend-{self.port}.log").read_text()[-3000:]
            raise RuntimeError(f"{error}; the instance's log ends:\n{log}") from None

    def stop(self) -> None:
        stacks.stop_instance(self.stack, self.port)

    def requests_per_second(self, log: str, start: int, end: int) -> dict[int, float]:
        """Stored http_requests of one log summed per timestamp (s): what the agent counted, as the server has it."""
        out, cursor = {}, None
        while True:
            params = {"log": log, "start_time": start, "end_time": end, "limit": 100_000}
            if cursor:
                params["cursor"] = cursor
            response = requests.get(f"{self.url}/api/metrics/http_requests/data", params=params, headers=AUTH,
                                    timeout=60)
            if response.status_code == 404:
                return out
            response.raise_for_status()
            for point in response.json():
                second = int(parse_ts(point["timestamp"]))
                out[second] = out.get(second, 0) + point["value"]
            cursor = response.headers.get("X-Next-Cursor")
            if not cursor:
                return out


def port_taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def parse_ts(value) -> float:
    return value / 1000 if isinstance(value, (int, float)) else datetime.fromisoformat(value).timestamp()


@pytest.fixture(scope="session")
def agent_server(test_stack, db):
    """A real instance (the session's Cassandra, schema applied by `db`), stopped at the end whatever happens."""
    server = Server(test_stack, 18090 + OFFSET)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def limited_server(test_stack, db):
    """A real instance that stores 20 samples a second per token (503 with Retry-After beyond: writes are never
    answered 429, which Prometheus would drop)."""
    limited = dataclasses.replace(test_stack, env={**test_stack.env, "METRICS_SERVER_TOKEN_WRITE_RATE_LIMIT": "20"})
    server = Server(limited, 18091 + OFFSET)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def running_server(agent_server):
    """The instance, started again if a test before stopped it."""
    agent_server.start()
    return agent_server


class Agent:
    """`metrics-server tail` as a process; its output collected in a file."""

    def __init__(self, folder: Path, log: Path, *options: str):
        self.folder, self.log, self.options = folder, log, options
        self.output = folder / "agent.out"
        self.process = None

    def start(self) -> "Agent":
        out = open(self.output, "ab")
        self.process = subprocess.Popen([*COMMAND, "tail", str(self.log), *self.options], cwd=ROOT, env=AGENT_ENV,
                                        stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self

    def stop(self, sig=signal.SIGTERM, timeout: float = 60) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def text(self) -> str:
        return self.output.read_text() if self.output.exists() else ""


@pytest.fixture
def agents():
    """Start agents; every one still running is killed at the end."""
    started = []

    def start(*args, **kwargs) -> Agent:
        agent = Agent(*args, **kwargs).start()
        started.append(agent)
        return agent

    yield start
    for agent in started:
        if agent.process and agent.process.poll() is None:
            agent.process.kill()
            agent.process.wait()


class Writer:
    """Appends access-log lines with chosen timestamps and remembers how many it wrote per second."""

    def __init__(self, path: Path, seed: int = 7):
        self.path, self.rng = path, random.Random(seed)
        self.per_second: dict[int, int] = {}

    def write(self, count: int, second: int, path: Path | None = None, request_time: bool = False) -> None:
        with open(path or self.path, "a") as f:
            f.write("".join(line(self.rng, second, request_time=request_time) for _ in range(count)))
        self.per_second[second] = self.per_second.get(second, 0) + count

    @property
    def total(self) -> int:
        return sum(self.per_second.values())


def wait_for(predicate, timeout: float = 60, what: str = "condition", detail=lambda: ""):
    """Poll until predicate() is truthy (returns it); fails with `what` (and `detail()`) after the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{detail()}")
        time.sleep(0.1)


def unique_name(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{random.randrange(1 << 30):x}"
