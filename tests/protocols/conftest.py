"""Real senders for the protocol tests: each runs from Debian's package (or PyPI) in a temporary folder, on
ports derived from TEST_PORT_OFFSET, and is stopped at the end of its test whatever happens."""
import os
import signal
import subprocess
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

OFFSET = int(os.environ.get("TEST_PORT_OFFSET", "0"))
PROMETHEUS_PORT = 19090 + OFFSET
NODE_EXPORTER_PORT = 19100 + OFFSET
VMAGENT_PORT = 18429 + OFFSET
ARRIVAL_TIMEOUT = 120  # seconds: a loaded 2-core machine with Cassandra is slow to take ~1000 new metrics


@contextmanager
def running(command: list[str], folder: Path, name: str):
    """A sender process, its output in folder/name.log; stopped (TERM, then KILL) when the block ends. The
    log's tail is printed when the block fails, so a failing test says what the sender said."""
    log_path = folder / f"{name}.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   cwd=folder, start_new_session=True)
    try:
        yield process
    except BaseException:
        print(f"--- {name} log (tail) ---\n" + "\n".join(log_path.read_text(errors="replace").splitlines()[-30:]))
        raise
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


def wait_for(what: str, probe: Callable[[], object], timeout: float = ARRIVAL_TIMEOUT, interval: float = 0.5):
    """Poll `probe` until it returns something truthy (which is returned); fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except requests.RequestException as error:
            last = error
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    pytest.fail(f"{what}: not within {timeout:.0f} s (last answer: {last!r})")


@contextmanager
def receiving_prometheus(folder: Path, port: int):
    """Debian's Prometheus with the remote-write receiver and no scrape jobs, in `folder`: yields its URL."""
    (folder / "prometheus.yml").write_text("scrape_configs: []\n")
    url = f"http://127.0.0.1:{port}"
    with running(["prometheus", f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={folder / 'data'}",
                  f"--web.listen-address=127.0.0.1:{port}", "--web.enable-remote-write-receiver"],
                 folder, "prometheus"):
        wait_for("prometheus ready", lambda: requests.get(f"{url}/-/ready", timeout=5).status_code == 200)
        yield url


# The session's admin token (tests/conftest.py): the senders authenticate with it each in their own way.
TOKEN = os.environ["METRICS_TEST_ADMIN_TOKEN"]
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def series_of(url: str, metric: str) -> list[dict]:
    """The label sets a metric has in our API (none while the metric does not exist)."""
    response = requests.get(f"{url}/api/metrics/{metric}/series", headers=AUTH, timeout=30)
    return response.json() if response.status_code == 200 else []


def points_of(url: str, metric: str, **labels: str) -> list[dict]:
    response = requests.get(f"{url}/api/metrics/{metric}/data", params={**labels, "limit": 100_000}, headers=AUTH,
                            timeout=30)
    return response.json() if response.status_code == 200 else []


@pytest.fixture
def folder(tmp_path_factory) -> Path:
    """A temporary folder for one sender's config, data and log."""
    path = tmp_path_factory.mktemp("sender")
    path.chmod(0o755)
    return path
