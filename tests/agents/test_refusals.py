"""The agents never lose data silently (issues 23 and 25), against real instances: what a rate limit refuses
(503 with Retry-After) is resent until stored; what the server refuses for good is isolated, so the rest of the
batch is stored, and named with the server's reason; `--once` and `--duration` runs exit 1 when anything was
refused."""
import re
import subprocess

import requests

from metrics_server.agents.simulate import metric_names
from tests.agents.conftest import AGENT_ENV, AUTH, COMMAND, ROOT, Writer, unique_name


def run(*options: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([*COMMAND, *options], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env=AGENT_ENV)


def stored(server, name: str, **params) -> list[dict]:
    response = requests.get(f"{server.url}/api/metrics/{name}/data", headers=AUTH, timeout=30,
                            params={"start_time": 0, "limit": 100_000, **params})
    return response.json() if response.ok else []


def test_simulate_resends_what_a_rate_limit_refused_and_stores_every_point(limited_server, running_server):
    """4 metrics every 100 ms is 40 samples/s against 20 allowed: the 503s are waited out (Retry-After), the
    points kept meanwhile go with the next request, and the server ends with every point made (read back through
    an instance without the limit)."""
    prefix = unique_name("limited").replace("-", "_")
    result = run("simulate", "--url", limited_server.url, "--metrics", "4", "--interval", "0.1", "--duration", "4",
                 "--prefix", prefix)
    print(result.stdout[-1500:])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "HTTP 503" in result.stdout  # the server's reason, printed with the second it happened in
    summary = re.search(r"simulate: (\d+) points stored, (\d+) requests resent, 0 points refused by the server, "
                        r"0 not sent", result.stdout)
    assert summary and int(summary.group(2)) > 0, result.stdout[-800:]
    points = sum(len(stored(running_server, name)) for name, _ in metric_names(4, prefix))
    assert points == int(summary.group(1)) >= 4 * 30  # 4 s at 10 points/s per metric, less a late tick or so


def test_simulate_stops_at_once_naming_a_metric_another_program_made(running_server):
    prefix = unique_name("clash").replace("-", "_")
    name = metric_names(1, prefix)[0][0]
    requests.post(f"{running_server.url}/api/metrics", headers=AUTH, timeout=30, json={
        "name": name, "type": "counter", "label_keys": ["host"], "description": "requests (make demo)"}).raise_for_status()
    result = run("simulate", "--url", running_server.url, "--metrics", "1", "--duration", "1", "--prefix", prefix)
    assert result.returncode == 1
    assert f"defining {name}: the server already has it as a counter with label keys ['host']" in result.stdout
    assert "requests (make demo)" in result.stdout and f"DELETE /api/metrics/{name}" in result.stdout


def test_tail_once_stores_all_but_the_clashing_metric_and_exits_1_naming_it(tmp_path, running_server):
    """A metric of the same name made by another program (the demo's counter) refuses the agent's requests; its
    other metrics are stored all the same, the refusal is printed with who made the metric, and the replay's exit
    status is 1. Under a prefix of its own the same replay stores everything and exits 0."""
    prefix = unique_name("t").replace("-", "_") + "_"
    requests.post(f"{running_server.url}/api/metrics", headers=AUTH, timeout=30, json={
        "name": f"{prefix}http_requests", "type": "counter", "label_keys": ["host"],
        "description": "requests served since start (make demo)"}).raise_for_status()
    log = tmp_path / "access.log"
    writer = Writer(log)
    for second in range(1_700_000_000, 1_700_000_020):
        writer.write(5, second)
    sent_bytes = sum(int(m) for m in re.findall(r'" \d{3} (\d+) "', log.read_text()))

    replay = ["tail", str(log), "--from-start", "--once", "--url", running_server.url, "--view", "none",
              "--name", "replay"]
    result = run(*replay, "--metric-prefix", prefix)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"server refused {prefix}http_requests (every series)" in result.stderr, result.stderr
    assert "Labels must contain exactly these keys: ['host']" in result.stderr
    assert "requests served since start (make demo)" in result.stderr
    assert stored(running_server, f"{prefix}http_requests") == []
    assert sum(p["value"] for p in stored(running_server, f"{prefix}http_response_bytes")) == sent_bytes
    assert stored(running_server, f"{prefix}tail_lag_seconds"), "the agent's own gauges went with the rest"

    own = prefix + "own_"
    result = run(*replay, "--metric-prefix", own)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sum(p["value"] for p in stored(running_server, f"{own}http_requests")) == writer.total
