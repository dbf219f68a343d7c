"""`metrics-server simulate` as a process: every shape stored on a real instance, errors counted and printed, and
the bearer token sent on every request."""
import http.server
import re
import subprocess
import threading

import requests

from metrics_server.agents.simulate import SHAPES, metric_names
from tests.agents.conftest import AGENT_ENV, AUTH, COMMAND, ROOT, unique_name


def simulate(*options: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*COMMAND, "simulate", *options], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env=AGENT_ENV)


def test_every_shape_reaches_the_server_from_concurrent_senders(running_server):
    """Every point the simulator says it sent is stored (a loaded machine may send fewer than 10 a metric in 3 s;
    what is sent must arrive), each metric with its type."""
    prefix = unique_name("sim").replace("-", "_")
    result = simulate("--url", running_server.url, "--metrics", "6", "--interval", "0.3", "--duration", "3",
                      "--prefix", prefix, "--timeout", "60")
    assert result.returncode == 0, result.stdout + result.stderr
    per_second = [row for row in result.stdout.splitlines() if "points/s" in row]
    assert len(per_second) >= 2 and all(", 0 points refused" in row for row in per_second), result.stdout
    sent = int(re.search(r"simulate: (\d+) points stored, \d+ requests resent, 0 points refused by the server, "
                         r"0 not sent", result.stdout).group(1))
    stored = 0
    for name, kind in metric_names(6, prefix):
        metric = requests.get(f"{running_server.url}/api/metrics/{name}", headers=AUTH, timeout=30).json()
        assert metric["type"] == {"counter": "counter", "enum": "enum", "histogram": "histogram"}.get(kind, "gauge")
        points = requests.get(f"{running_server.url}/api/metrics/{name}/data", headers=AUTH,
                              params={"start_time": "-1h"},
                              timeout=30).json()
        assert points, f"{name}: no points"
        stored += len(points)
    assert stored == sent
    assert {kind for _, kind in metric_names(6, prefix)} == set(SHAPES)


def test_an_unreachable_server_is_reported_and_the_exit_status_says_so(tmp_path):
    result = simulate("--url", "http://127.0.0.1:9", "--duration", "1", "--metrics", "2")
    assert result.returncode == 1
    assert "cannot define metrics at http://127.0.0.1:9" in result.stdout


class Recorder(http.server.BaseHTTPRequestHandler):
    """A stand-in server that records Authorization headers and answers like /api (201)."""

    seen: list[str] = []

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        Recorder.seen.append(self.headers.get("Authorization"))
        self.send_response(201)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def test_the_token_is_sent_as_a_bearer_header_on_every_request():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = simulate("--url", f"http://127.0.0.1:{server.server_port}", "--metrics", "3", "--duration", "1",
                          "--token", "s3cret")
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(Recorder.seen) >= 6 and set(Recorder.seen) == {"Bearer s3cret"}
