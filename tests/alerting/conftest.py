"""Real peers for the alerting tests: Debian's Alertmanager, a webhook receiver, and server instances started
as processes (each runs an evaluator), all on ports derived from TEST_PORT_OFFSET, in temporary folders,
stopped at the end whatever happens."""
import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from tests.conftest import OFFSET
from tests.failure.harness import wait_until
from tools import stack as stacks

ALERTMANAGER_PORT = 19093 + OFFSET
WEBHOOK_PORT = 19094 + OFFSET
INSTANCE_PORTS = (18085 + OFFSET, 18086 + OFFSET)
KEYSPACE = "alerting_test"  # its own keyspace: its evaluators' lease is theirs alone
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def alertmanager(test_var):
    """Debian's prometheus-alertmanager on 127.0.0.1:19093+offset, no clustering, routing to nobody (we read
    its alerts back with amtool)."""
    folder = test_var / "alertmanager"
    folder.mkdir()
    (folder / "alertmanager.yml").write_text(
        "route:\n  receiver: nobody\n  group_wait: 1s\n  group_interval: 1s\nreceivers:\n- name: nobody\n")
    log = open(folder / "alertmanager.log", "wb")
    process = subprocess.Popen(
        ["/usr/bin/prometheus-alertmanager", f"--config.file={folder / 'alertmanager.yml'}",
         f"--storage.path={folder / 'data'}", f"--web.listen-address=127.0.0.1:{ALERTMANAGER_PORT}",
         "--cluster.listen-address="], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{ALERTMANAGER_PORT}"
    try:
        wait_until(lambda: requests.get(f"{url}/-/ready", timeout=2).ok, 60, what="Alertmanager to be ready")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def amtool_alerts(url: str, *matchers: str) -> list[dict]:
    """`amtool alert query -o json` against Alertmanager: the alerts it holds (active ones)."""
    result = subprocess.run(["/usr/bin/amtool", f"--alertmanager.url={url}", "alert", "query", "-o", "json",
                             *matchers], capture_output=True, text=True, timeout=30, check=True)
    return json.loads(result.stdout or "[]")


class Webhook:
    """A local HTTP receiver recording every POSTed JSON body (Alertmanager's webhook payloads from us)."""

    def __init__(self, port: int):
        received = self.received = []
        lock = self.lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    received.append((time.time(), self.path, body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{port}/hook"

    def payloads(self) -> list[dict]:
        with self.lock:
            return [body for _, _, body in self.received]


@pytest.fixture(scope="session")
def webhook():
    receiver = Webhook(WEBHOOK_PORT)
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


class Instances:
    """metrics_server.run processes on the alerting test ports, sharing the alerting keyspace."""

    def __init__(self, stack, folder: Path, env: dict[str, str]):
        self.stack, self.folder, self.env = stack, folder, env
        self.processes: dict[int, subprocess.Popen] = {}

    def start(self, port: int) -> subprocess.Popen:
        env = {**self.stack.app_env(port), **self.env}
        log = open(self.folder / f"instance-{port}.log", "ab")
        process = subprocess.Popen([sys.executable, "-m", "metrics_server.run"], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
        log.close()
        self.processes[port] = process
        wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/api/health", timeout=2).ok, 90,
                   what=f"instance {port} to answer")
        return process

    def kill(self, port: int) -> None:
        """SIGKILL: no lease release, no goodbye, as when a machine dies."""
        process = self.processes.pop(port)
        process.send_signal(signal.SIGKILL)
        process.wait(30)

    def stop_all(self) -> None:
        for port in list(self.processes):
            process = self.processes.pop(port)
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def log_tail(self) -> str:
        return "\n".join(f"--- {path.name}\n" + path.read_text(errors="replace")[-3000:]
                         for path in sorted(self.folder.glob("instance-*.log")))


def apply_schema(stack) -> None:
    """The schema in the alerting keyspace; tried three times, as a loaded machine can time a first connection
    out (the last failure is raised with the schema job's own message)."""
    for attempt in range(3):
        try:
            return stacks.apply_schema(stack)
        except RuntimeError:
            if attempt == 2:
                raise
            time.sleep(5)


@pytest.fixture
def instances(test_stack, cassandra_node, test_var, alertmanager, webhook, tmp_path):
    """A factory of evaluating instances with the given rule file, stopped at the end of the test."""
    stack = dataclasses.replace(test_stack, keyspace=KEYSPACE,
                                env={**test_stack.env, "METRICS_SERVER_CASSANDRA_TIMEOUT": "30"})
    apply_schema(stack)
    started = []

    def make(rules: str, **settings) -> Instances:
        (tmp_path / "rules.yml").write_text(rules)
        env = {"METRICS_SERVER_ALERT_RULES_FILE": str(tmp_path / "rules.yml"),
               "METRICS_SERVER_ALERTMANAGERS": alertmanager, "METRICS_SERVER_ALERT_WEBHOOKS": webhook.url,
               "METRICS_SERVER_LOG_LEVEL": "INFO", **{f"METRICS_SERVER_{k.upper()}": str(v)
                                                      for k, v in settings.items()}}
        group = Instances(stack, tmp_path, env)
        started.append(group)
        return group

    yield make
    for group in started:
        group.stop_all()
    os.environ.get("KEEP_ALERT_LOGS") and print(*(group.log_tail() for group in started))
