"""nginx in front of the instances, checked against the real nginx of the test stack: gzip, asset caching,
the body limit, upstream keep-alive, JSON for the errors nginx answers itself, and the per-client rate limit."""
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import requests

from tools import pidfile
from tools import stack as stacks

MAX_BODY = stacks.DEFAULT_MAX_BODY


def test_json_and_csv_are_gzipped(live_stack, name, auth_headers):
    for i in range(12):  # a catalogue large enough to be worth compressing (gzip_min_length 1024)
        requests.post(f"{live_stack.url}/api/metrics", headers=auth_headers, json={
            "name": f"{name}_{i}", "description": "a metric the nginx test creates to list " * 3}, timeout=30)
    gzipped = requests.get(f"{live_stack.url}/api/metrics", headers={"Accept-Encoding": "gzip", **auth_headers},
                           timeout=30)
    assert gzipped.status_code == 200 and gzipped.headers["Content-Encoding"] == "gzip", gzipped.headers
    assert len(gzipped.json()) >= 12
    plain = requests.get(f"{live_stack.url}/api/metrics", headers={"Accept-Encoding": "identity", **auth_headers},
                         timeout=30)
    assert "Content-Encoding" not in plain.headers
    points = [{"name": name, "value": float(i), "timestamp": 1_700_000_000_000 + i * 1000} for i in range(500)]
    assert requests.post(f"{live_stack.url}/api/write", json=points, headers=auth_headers, timeout=30).status_code == 201
    csv = requests.get(f"{live_stack.url}/api/metrics/{name}/data", params={"format": "csv"},
                       headers={"Accept-Encoding": "gzip", **auth_headers}, timeout=30)
    assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv")
    assert csv.headers["Content-Encoding"] == "gzip" and len(csv.text.splitlines()) == 501


def test_hashed_assets_are_cached_for_a_year_and_the_page_is_revalidated(live_stack):
    assets = sorted((live_stack.frontend / "assets").glob("*")) if (live_stack.frontend / "assets").is_dir() else []
    if not assets:
        pytest.skip("the frontend is not built (frontend/dist/assets is empty)")
    response = requests.get(f"{live_stack.url}/assets/{assets[0].name}", timeout=30)
    assert response.status_code == 200
    assert response.raw.headers.getlist("Cache-Control") == ["public, max-age=31536000, immutable"]
    page = requests.get(f"{live_stack.url}/", timeout=30)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-cache"
    assert requests.get(f"{live_stack.url}/assets/missing-0000.js", timeout=30).status_code == 404


def test_body_limit_matches_max_body_bytes(live_stack, auth_headers):
    headers = {"Content-Type": "application/json", **auth_headers}
    over = requests.post(f"{live_stack.url}/api/write", data=b"[" + b" " * (MAX_BODY - 1) + b"]", headers=headers,
                         timeout=120)
    assert over.status_code == 413 and over.headers["Content-Type"] == "application/json", over.text[:200]
    assert "max_body_bytes" in over.json()["error"]
    # A body of exactly max_body_bytes passes nginx and the app's own limit: the app judges its content.
    at_limit = requests.post(f"{live_stack.url}/api/write", data=b"[" + b" " * (MAX_BODY - 2) + b"]",
                             headers=headers, timeout=120)
    assert at_limit.status_code == 400 and "points in a batch" in at_limit.json()["error"], at_limit.text[:200]


def test_a_write_body_under_256_kib_is_not_buffered_to_a_file(live_stack, name, auth_headers):
    """A JSON write of 5,000 points as series items (~100 KB) is held in memory by nginx: past its default 16 KiB
    buffer every such write went to a temporary file and back, and logged a warning."""
    points = [{"name": name, "labels": {"host": f"h{host}"}, "timestamps": [1_700_000_000_000 + i for i in range(100)],
               "values": [host + i * 1.5 for i in range(100)]} for host in range(50)]
    error_log = live_stack.log_dir / "nginx-error.log"
    before = error_log.read_text(errors="replace").count("buffered to a temporary file")
    response = requests.post(f"{live_stack.url}/api/write", json=points, headers=auth_headers, timeout=60)
    assert response.status_code == 201 and 80_000 < len(response.request.body) < 256 * 1024, response.text[:200]
    assert error_log.read_text(errors="replace").count("buffered to a temporary file") == before


def established(ports: list[int]) -> int:
    """TCP connections currently established to any of these local ports (from /proc/net/tcp)."""
    wanted = {f"{port:04X}" for port in ports}
    count = 0
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        fields = line.split()
        remote_port = fields[2].split(":")[1]
        if fields[3] == "01" and remote_port in wanted:
            count += 1
    return count


def test_upstream_connections_are_kept_alive(live_stack):
    http = requests.Session()
    for _ in range(40):
        assert http.get(f"{live_stack.url}/api/health", timeout=30).status_code == 200
    # Without keepalive nginx would close each upstream connection after its response.
    assert established(live_stack.backend_ports) >= 1


def test_rate_limit_zero_is_off(live_stack):
    statuses = [requests.get(f"{live_stack.url}/api/health", timeout=30).status_code for _ in range(60)]
    assert set(statuses) == {200}


@pytest.fixture
def limited_stack(live_stack):
    """nginx with rate_limit 5 in front of one more instance on the session's Cassandra (own ports)."""
    var = Path(tempfile.mkdtemp(prefix="metrics_server_limited_"))
    var.chmod(0o755)  # nginx's unprivileged workers use it
    offset = int(os.environ.get("TEST_PORT_OFFSET", "0"))
    stack = stacks.Stack(var=var, port=18092 + offset, instances=1, cql_port=live_stack.cql_port,
                         keyspace=live_stack.keyspace, frontend=live_stack.frontend,
                         env={**live_stack.env, "METRICS_SERVER_RATE_LIMIT": "5"})
    for folder in (stack.run_dir, stack.log_dir):
        folder.mkdir(parents=True)
    try:
        stacks.start_instance(stack, stack.backend_ports[0])
        stacks.wait_http(f"http://127.0.0.1:{stack.backend_ports[0]}/api/health", ok_statuses=(200,))
        stacks.start_nginx(stack)
        stacks.wait_http(f"{stack.url}/api/health", ok_statuses=(200,))
        yield stack
    finally:
        stacks.stop_nginx(stack)  # and its supervisor, which would start it again
        stacks.stop_instance(stack, stack.backend_ports[0])
        shutil.rmtree(var, ignore_errors=True)


def test_rate_limit_per_client_answers_429_json(limited_stack):
    time.sleep(1.5)  # the start-up probes used some of the burst
    began = time.monotonic()
    responses = [requests.get(f"{limited_stack.url}/api/health", timeout=30) for _ in range(40)]
    elapsed = time.monotonic() - began
    statuses = [response.status_code for response in responses]
    # rate 5/s with a burst of 10: the burst passes at once, then 5 a second; the rest are refused
    assert set(statuses) == {200, 429} and 8 <= statuses.count(200) <= 10 + 5 * elapsed + 3, (statuses, elapsed)
    refused = next(response for response in responses if response.status_code == 429)
    assert refused.headers["Content-Type"] == "application/json" and "rate_limit" in refused.json()["error"]
    assert refused.headers["Retry-After"] == "1"
    # Static files are not limited.
    assert requests.get(f"{limited_stack.url}/", timeout=30).status_code == 200
    time.sleep(2.5)
    assert requests.get(f"{limited_stack.url}/api/health", timeout=30).status_code == 200


def test_writes_are_not_limited_per_client_address(limited_stack, auth_headers):
    """Issue 23: a Prometheus drops a batch answered 429, so only reads count against rate_limit; a client that
    used up its reads still has every write taken."""
    time.sleep(1.5)
    reads = [requests.get(f"{limited_stack.url}/api/health", timeout=30).status_code for _ in range(30)]
    assert 429 in reads
    item = {"name": f"unlimited_{uuid.uuid4().hex[:8]}", "labels": {"host": "a"}, "value": 1.0}
    writes = [requests.post(f"{limited_stack.url}/api/write", json=[{**item, "timestamp": 1_700_000_000_000 + i}],
                            headers=auth_headers, timeout=30).status_code for i in range(40)]
    assert set(writes) == {201}, writes


def test_no_instance_left_answers_502_json(limited_stack):
    stacks.stop_instance(limited_stack, limited_stack.backend_ports[0])
    response = requests.get(f"{limited_stack.url}/api/metrics/{uuid.uuid4().hex}", timeout=30)
    assert response.status_code == 502 and response.headers["Content-Type"] == "application/json"
    assert "backend" in response.json()["error"]


def test_a_killed_nginx_is_back_by_itself_and_its_workers_do_not_keep_the_port(live_stack):
    """SIGKILL to nginx's master leaves its workers holding the port; its supervisor clears them and starts a new
    master, which answers and reloads like the first."""
    pid_file = live_stack.run_dir / "nginx.pid"
    master = pidfile.running(pid_file)
    assert master and pidfile.running(pidfile.supervisor_pid_file(pid_file)), "nginx is not supervised"
    os.kill(master, 9)
    killed = time.monotonic()
    deadline = killed + 60
    while time.monotonic() < deadline:
        back = pidfile.running(pid_file)
        if back and back != master:
            try:
                if requests.get(f"{live_stack.url}/api/health", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
        time.sleep(0.2)
    else:
        raise AssertionError(f"nginx not back within 60 s: {(live_stack.log_dir / 'nginx.log').read_text()[-500:]}")
    print(f"nginx back {time.monotonic() - killed:.1f} s after SIGKILL")
    stacks.start_nginx(live_stack)  # a reload reaches the new master
    assert requests.get(f"{live_stack.url}/api/health", timeout=10).status_code == 200
