"""nginx's retry policy, on the real nginx with the project's own config: a write whose instance died while
answering is retried on the next instance (writes are idempotent), a read never is (issue 21: one query of death,
replayed by nginx to each instance in turn, took all four down)."""
import os
import socket
import subprocess
import threading
import time

import pytest
import requests

from tools import pidfile
from tools import stack as stacks

OFFSET = int(os.environ.get("TEST_PORT_OFFSET", "0"))
NGINX_PORT, UPSTREAM_PORTS = 18070 + OFFSET, (18071 + OFFSET, 18072 + OFFSET)


class DyingInstance:
    """An upstream that reads each request's head and closes the connection without answering, as an instance
    killed mid-request does; it counts the requests that reached it."""

    def __init__(self, port: int):
        self.listener = socket.create_server(("127.0.0.1", port))
        self.requests: list[str] = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with connection:
                head = connection.recv(65536).decode(errors="replace")
                if head:
                    self.requests.append(head.split("\r\n", 1)[0])

    def close(self):
        self.listener.close()


@pytest.fixture(scope="module")
def nginx_before_dying_instances(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("nginx_replay")
    instances = [DyingInstance(port) for port in UPSTREAM_PORTS]
    (tmp_path / "logs").mkdir()
    conf = tmp_path / "nginx.conf"
    text = stacks.nginx_conf([f"127.0.0.1:{port}" for port in UPSTREAM_PORTS], f"127.0.0.1:{NGINX_PORT}",
                             str(tmp_path), str(tmp_path / "logs"), str(tmp_path))
    # Every probe must reach the upstreams: nginx's failure accounting (a failed instance skipped for 2 s) is off.
    conf.write_text(text.replace("max_fails=1", "max_fails=0"))
    subprocess.run(["nginx", "-e", str(tmp_path / "logs" / "error.log"), "-c", str(conf), "-p", str(tmp_path),
                    "-g", "daemon on;"], check=True, capture_output=True)
    try:
        stacks.wait_tcp("127.0.0.1", NGINX_PORT, lambda: True, timeout=20)
        yield instances
    finally:
        pidfile.stop(tmp_path / "nginx.pid", timeout=10)
        for instance in instances:
            instance.close()


def reached(instances: list[DyingInstance], before: list[int]) -> int:
    time.sleep(0.2)
    return sum(len(instance.requests) - count for instance, count in zip(instances, before))


@pytest.mark.parametrize("method, path", [("GET", "/api/v1/query?query=up"), ("POST", "/api/v1/query"),
                                          ("GET", "/api/query?metric=cpu"), ("POST", "/api/alerts/backtest")])
def test_a_read_that_kills_its_instance_is_not_handed_to_the_next(nginx_before_dying_instances, method, path):
    instances = nginx_before_dying_instances
    before = [len(instance.requests) for instance in instances]
    response = requests.request(method, f"http://127.0.0.1:{NGINX_PORT}{path}", data="query=up", timeout=30)
    assert response.status_code == 502 and response.headers["Content-Type"] == "application/json"
    assert reached(instances, before) == 1


@pytest.mark.parametrize("path", ["/api/write", "/api/v1/write", "/write", "/api/v2/write", "/v1/metrics",
                                  "/api/metrics/cpu/data"])
def test_a_write_whose_instance_died_is_retried_on_the_next(nginx_before_dying_instances, path):
    instances = nginx_before_dying_instances
    before = [len(instance.requests) for instance in instances]
    response = requests.post(f"http://127.0.0.1:{NGINX_PORT}{path}", data=b"[]", timeout=30)
    assert response.status_code == 502
    assert reached(instances, before) == 2
