"""The docker-compose deployment run for real (issue 13).

A private Docker engine (tools/dockerd.py) builds the images with build_images.sh on the Debian base that
docker/base.sh makes (once: the engine's data root is a cache kept between runs), then one `docker-compose up -d`
starts the real docker-compose.yml: 3 Cassandra nodes, the schema job, 4 backends, nginx. Through nginx's
published port only, the tests write a batch and read it back, load the dashboard in headless Chromium, kill a
backend and a Cassandra node together (SIGKILL from the host, as a crash) under writes and find every
acknowledged point, then remove two Cassandra containers, create them again on their named volumes, stop the
third node and find every point still there, read from the two new containers alone (what `docker-compose down`
and `up` rely on: the Cassandra volumes are the only state). The module's teardown removes the stack and its
volumes and stops the engine with everything it started, whatever happened.

The compose file's published port is 23080 + TEST_PORT_OFFSET here (HTTP_PORT in the test's .env), so a
`make up` stack or a real deployment on 8080 is never touched. tests/deploy/compose-health.yml checks health
every 2 s instead of the images' 10 s, so each step of the start order follows the one before sooner.
"""
import json
import os
import resource
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.conftest import OFFSET
from tests.e2e.e2e_support import Api, chromium, idle, main_chart, sign_in, write_dataset
from tests.failure.harness import Writers, figures, read_back, status_of, wait_until
from tools import dockerd, pidfile

pytestmark = [pytest.mark.compose, pytest.mark.timeout(3000)]

ROOT = Path(__file__).resolve().parents[2]
HEALTH_CADENCE = Path(__file__).with_name("compose-health.yml")
HTTP_PORT = 23080 + OFFSET  # below the ephemeral ports a client connection may hold
PROJECT = f"metrics_server_compose{OFFSET}"
AUTH = {"Authorization": "Bearer " + os.environ["METRICS_TEST_ADMIN_TOKEN"]}
SERVICES = ["cassandra1", "cassandra2", "cassandra3", "schema", "backend1", "backend2", "backend3", "backend4", "nginx"]
IMAGES = ["metrics-server-cassandra", "metrics-server-backend", "metrics-server-nginx"]
# Start-up waits shortened as the failure tests' nodes do (gossip settling, ring delay); everything else is the
# deployment's own configuration.
FAST_START = "-Dcassandra.skip_wait_for_gossip_to_settle=0 -Dcassandra.ring_delay_ms=5000"
ACKED: dict = {}  # metric -> the (writer, ts) points acknowledged by a test, read back after down and up


def hard_limit(kind: int, scale: int = 1) -> int:
    """A hard resource limit of this process (what a container can get at most); -1 when unlimited."""
    limit = resource.getrlimit(kind)[1]
    return -1 if limit == resource.RLIM_INFINITY else limit * scale


def compose_env() -> str:
    """.env.example (the documented settings) with this machine's port, heap and limits."""
    nofile = hard_limit(resource.RLIMIT_NOFILE)
    overrides = {
        "HTTP_PORT": str(HTTP_PORT), "CASSANDRA_HEAP": "768M", "CASSANDRA_JVM_EXTRA_OPTS": FAST_START,
        "CASSANDRA_NOFILE": str(100_000 if nofile == -1 else min(nofile, 100_000)),
        "CASSANDRA_MEMLOCK": str(hard_limit(resource.RLIMIT_MEMLOCK)), "METRICS_SERVER_LOG_LEVEL": "WARNING",
        "METRICS_SERVER_ADMIN_TOKEN": os.environ["METRICS_TEST_ADMIN_TOKEN"],
    }
    lines = []
    for line in (ROOT / ".env.example").read_text().splitlines():
        key = line.split("=", 1)[0]
        lines.append(f"{key}={overrides.pop(key)}" if key in overrides and not line.startswith("#") else line)
    assert not overrides, f".env.example lacks {sorted(overrides)}"
    return "\n".join(lines) + "\n"


class Compose:
    """docker and docker-compose on the private engine, for the project and .env of this test."""

    def __init__(self, engine: dockerd.Engine, env_file: Path):
        self.engine, self.env_file = engine, env_file
        self.env = {**engine.env(), "COMPOSE_PROJECT_NAME": PROJECT, "COMPOSE_HTTP_TIMEOUT": "600",
                    "ENV_FILE": str(env_file)}
        self.url = f"http://127.0.0.1:{HTTP_PORT}"

    def run(self, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
        """Run a command (docker, docker-compose, a script) against the engine; a failure shows its output."""
        result = subprocess.run(args, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout)
        assert not check or result.returncode == 0, f"{' '.join(args)}: {(result.stderr or result.stdout)[-2000:]}"
        return result

    def compose(self, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
        return self.run("docker-compose", "--env-file", str(self.env_file), "-f", "docker-compose.yml", "-f",
                        str(HEALTH_CADENCE), *args, timeout=timeout, check=check)

    def docker(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        return self.run(dockerd.CLIENT, *args, timeout=timeout, check=check)

    def states(self) -> dict:
        """service -> its container's State (Status, Pid, Health...), RestartCount and Id, in one docker inspect."""
        ids = self.docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={PROJECT}").stdout.split()
        found = json.loads(self.docker("inspect", *ids).stdout) if ids else []
        return {item["Config"]["Labels"]["com.docker.compose.service"]: {**item["State"], "RestartCount": item["RestartCount"], "Id": item["Id"]}
                for item in found}

    def state(self, service: str) -> dict:
        return self.states()[service]

    def health(self) -> dict:
        """service -> 'healthy', 'starting', 'unhealthy' while it runs, else e.g. 'exited 0'; or 'missing'."""
        states = self.states()
        return {service: "missing" if service not in states else states[service]["Health"]["Status"]
                if states[service]["Status"] == "running" and "Health" in states[service]
                else f"{states[service]['Status']} {states[service]['ExitCode']}" for service in SERVICES}

    def wait_healthy(self, timeout: float = 900) -> dict:
        """Every service healthy (the schema job exited 0) and /api/health 200 through the published port."""
        wanted = {service: "exited 0" if service == "schema" else "healthy" for service in SERVICES}
        wait_until(lambda: self.health() == wanted, timeout, 3, what=lambda: f"the stack to be healthy: {self.health()}")
        wait_until(lambda: status_of(f"{self.url}/api/health") == 200, 120, what="/api/health through nginx")
        return wanted

    def wait_service_healthy(self, service: str, timeout: float = 900) -> None:
        wait_until(lambda: self.health()[service] == "healthy", timeout, 2,
                   what=lambda: f"{service} to be healthy: {self.health()}")

    def crash(self, service: str) -> int:
        """SIGKILL the container's main process from the host, as a crash (docker kill would count as a stop
        that the restart policy respects); returns the restart count it had."""
        state = self.state(service)
        os.kill(state["Pid"], signal.SIGKILL)
        return state["RestartCount"]

    def wait_restarted(self, service: str, restarts: int, timeout: float = 600) -> None:
        """The restart policy has started the service again and it is healthy."""
        wait_until(lambda: (lambda s: s["RestartCount"] > restarts and s["Health"]["Status"] == "healthy")(
            self.state(service)), timeout, 2, what=lambda: f"{service} to restart and be healthy: {self.health()}")


@pytest.fixture(scope="module")
def report(request):
    """Print a figure now (even without -s) and keep it for the module's summary."""
    lines: list[str] = []
    capture = request.config.pluginmanager.getplugin("capturemanager")

    def emit(line: str) -> None:
        lines.append(line)
        with capture.global_and_fixture_disabled():
            print(f"\n[compose] {line}", flush=True)
    yield emit
    with capture.global_and_fixture_disabled():
        print("\n[compose] figures:\n  " + "\n  ".join(lines), flush=True)


@pytest.fixture(scope="module")
def engine(report):
    """The private engine for the module; at the end the stack, its volumes and the engine go, whatever happened."""
    if os.geteuid() != 0:
        pytest.skip("dockerd needs root")
    run_dir = Path(tempfile.mkdtemp(prefix=f"msd{OFFSET}-", dir="/tmp"))  # short: unix socket paths are limited
    started = time.monotonic()
    engine = dockerd.Engine(run_dir, OFFSET)
    try:
        engine = dockerd.start(engine)
        report(f"dockerd ready in {time.monotonic() - started:.1f}s (images and build cache in {engine.data_root})")
        yield engine
    finally:
        compose = Compose(engine, run_dir / "compose.env")
        if compose.env_file.exists() and pidfile.running(engine.pid_file):
            compose.compose("down", "--volumes", "--remove-orphans", "-t", "10", timeout=300, check=False)
            # Keep the cache from growing run after run: images replaced by newer builds, build cache over 4 GB.
            compose.docker("image", "prune", "-f", check=False)
            compose.docker("builder", "prune", "-f", "--keep-storage", "4gb", timeout=300, check=False)
        dockerd.stop(engine)
        left = dockerd.leftovers(engine)
        shutil.rmtree(run_dir, ignore_errors=True)
        assert left == [], f"the engine's teardown left {left}"


@pytest.fixture(scope="module")
def images(engine, report):
    """The base image (made once, then cached) and the three images, built by build_images.sh."""
    env_file = engine.run_dir / "compose.env"
    env_file.write_text(compose_env())
    compose = Compose(engine, env_file)
    started = time.monotonic()
    base = compose.run(str(ROOT / "docker" / "base.sh"), timeout=900)
    report(f"docker/base.sh: {base.stdout.strip()} ({time.monotonic() - started:.0f}s)")
    started = time.monotonic()
    built = compose.run(str(ROOT / "build_images.sh"), timeout=2400)
    report(f"build_images.sh in {time.monotonic() - started:.0f}s: " + "; ".join(
        line for line in built.stdout.splitlines() if line.startswith("built")))
    for image in IMAGES:
        user = compose.docker("image", "inspect", "-f", "{{.Config.User}}", f"{image}:latest").stdout.strip()
        assert user not in ("", "root", "0"), f"{image} runs as root"
    return compose


@pytest.fixture(scope="module")
def stack(images, report) -> Compose:
    """The whole compose stack, up and healthy."""
    started = time.monotonic()
    images.compose("up", "-d", timeout=1800)
    images.wait_healthy()
    report(f"docker-compose up -d to every service healthy: {time.monotonic() - started:.0f}s")
    return images


def test_a_batch_written_through_nginx_is_read_back(stack):
    metric = f"compose_{uuid.uuid4().hex[:8]}"
    items = [{"name": metric, "labels": {"host": f"web-{i % 3}"}, "value": float(i), "timestamp": 1_706_874_000 + 60 * i}
             for i in range(300)]
    response = requests.post(f"{stack.url}/api/write", headers=AUTH, json=items, timeout=60)
    assert response.status_code == 201, response.text
    points = requests.get(f"{stack.url}/api/metrics/{metric}/data", headers=AUTH, params={"limit": 1000}, timeout=60).json()
    assert sorted((p["labels"]["host"], p["value"]) for p in points) == \
        sorted((item["labels"]["host"], item["value"]) for item in items)
    query = requests.get(f"{stack.url}/api/query", headers=AUTH, params={"metric": metric, "start": 1_706_874_000,
                                                            "end": 1_706_874_000 + 18_000, "granularity": "hour",
                                                            "agg": "count"}, timeout=60).json()
    assert query, "the query answered nothing"
    ACKED[metric] = {(p["labels"]["host"], p["timestamp"]) for p in points}


def test_the_dashboard_draws_the_data_in_chromium(stack):
    data = write_dataset(Api(stack.url))
    name, password = f"viewer_{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    assert Api(stack.url).request("POST", "/api/auth/users", {"username": name, "password": password,
                                                              "scopes": ["read"]})[0] == 201
    with chromium() as browser:
        sign_in(browser, stack.url, name, password)
        browser.get(data.url(stack.url, [data.cpu, data.latency]))
        chart = main_chart(browser)
        idle(browser)
        units = {axis.get_attribute("data-unit") for axis in chart.find_elements("css selector", "g.axis-y")}
        assert units == {"%", "ms"}
        assert len(chart.find_elements("css selector", ".series")) == 4  # two hosts, two metrics


def test_a_backend_and_a_cassandra_node_crash_under_writes_and_nothing_acknowledged_is_lost(stack, report):
    metric = f"compose_kill_{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    restarts, crashed_at, healthy_after = {}, {}, {}
    with Writers(stack.url, metric, threads=2, batch=200, max_seconds=900, max_batches=5000, pause=0.1) as writers:
        def going_on(more: int = 1000):
            before = writers.acked_count()
            wait_until(lambda: writers.acked_count() >= before + more, 300,
                       what=lambda: f"writes to go on: {writers.state()}; {stack.health()}")
        going_on(2000)
        # The backend first, then (while Docker restarts it) the node: their restarts overlap.
        for service in ("backend2", "cassandra3"):
            crashed_at[service] = time.monotonic()
            restarts[service] = stack.crash(service)
            going_on()
        for service in restarts:
            stack.wait_restarted(service, restarts[service], timeout=900)
            healthy_after[service] = round(time.monotonic() - crashed_at[service])
        going_on()
    stored = read_back(stack.url, metric)
    line = figures("compose: backend2 then cassandra3 SIGKILLed from the host, restarted by Docker", writers, stored,
                   time.monotonic() - started, seconds_until_healthy_again=healthy_after)
    report(line)
    assert writers.acked and writers.acked <= stored, f"{line}; missing: {sorted(writers.acked - stored)[:5]}"
    assert stored <= writers.sent, line
    # A 503 is the API saying Cassandra did not acknowledge the batch (here: a coordinator starved of CPU past the
    # driver's timeout), which a client retries; anything else (a 502 from nginx, a dropped connection) is a bug.
    unanswered = [failure for failure in writers.failures if failure[1] != 503]
    assert unanswered == [], f"{line}; failed requests other than 503: {unanswered[:5]}"
    ACKED[metric] = set(writers.acked)


def test_the_data_lives_in_the_named_volumes(stack, report):
    """cassandra2 and cassandra3 removed (stopped first, as `down` does) and created again on their volumes, one at a
    time as nodes join; with cassandra1 then stopped, a QUORUM read is answered by the two new containers alone, so
    every point read back was on their volumes (any QUORUM write reached one of the two; hints cassandra1 replays
    cover only writes a node missed). Only the stateful service restarts: the backends reconnect."""
    assert ACKED, "no earlier test stored anything to find again"
    renewed = ("cassandra2", "cassandra3")
    started = time.monotonic()
    old = {service: stack.state(service)["Id"] for service in renewed}
    stack.compose("rm", "--stop", "--force", *renewed, timeout=300)
    assert not set(renewed) & set(stack.states()), "rm left the containers"
    volumes = stack.docker("volume", "ls", "-q", "--filter", f"label=com.docker.compose.project={PROJECT}").stdout
    assert len(volumes.split()) == 3, f"the Cassandra volumes should stay: {volumes}"
    removed = time.monotonic() - started
    for service in renewed:
        stack.compose("up", "-d", "--no-deps", service, timeout=600)
        stack.wait_service_healthy(service)
    assert all(stack.state(service)["Id"] != old[service] for service in renewed), "the containers were not new"
    created = time.monotonic() - started - removed
    stack.compose("stop", "cassandra1", timeout=300)

    def missing() -> dict:
        return {metric: len(acked - stored_points(stack.url, metric)) for metric, acked in ACKED.items()}
    wait_until(lambda: not any(missing().values()), 300, 2,
               what=lambda: f"every point from cassandra2 and cassandra3 alone; missing: {missing()}")
    report(f"cassandra2 and cassandra3 removed in {removed:.0f}s, created again on their volumes to healthy in "
           f"{created:.0f}s; with cassandra1 stopped every point read back in "
           f"{time.monotonic() - started - removed - created:.0f}s")


def stored_points(url: str, metric: str) -> set:
    """A metric's stored points as the tests acknowledged them: (writer, ms) for the writers', (host, ts) else."""
    if metric.startswith("compose_kill_"):
        return read_back(url, metric)
    response = requests.get(f"{url}/api/metrics/{metric}/data", headers=AUTH, params={"limit": 1000}, timeout=60)
    assert response.status_code == 200, response.text
    return {(p["labels"]["host"], p["timestamp"]) for p in response.json()}
