"""A new user's first hour (issue 25): on a fresh copy of the tree, the README's commands in the README's order,
each checked for what the README says the user then sees.

`make up` (the setup link), signing in by that link in Chromium, `make demo` and the dashboard drawing its metrics,
`make simulate` for a while (nothing lost to nginx's rate limit), the log monitor's own metrics beside the demo's
(no name clash; the README's request-rate query exact), `make down`, `make up` again with the data there, `make
clean`. Only the ports differ from a user's (PORT, CQL_PORT, ... on the make command line), so a stack on 8080 is
never touched. The copy holds the tree's files as they are (committed or not) and reuses this checkout's installs
(.venv and node_modules linked, the frontend build copied), so `make up`'s install step finds everything there, as
on a second run; the step times are printed.
"""
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path

import pytest
import requests
from selenium.webdriver.common.by import By

from metrics_server.agents.simulate import metric_names
from tests.e2e.e2e_support import chromium, idle, main_chart, wait

pytestmark = [pytest.mark.first_hour, pytest.mark.e2e, pytest.mark.timeout(1800)]

ROOT = Path(__file__).resolve().parents[2]
OFFSET = int(os.environ.get("TEST_PORT_OFFSET", "0"))
PORT = 16080 + OFFSET  # nginx; the instances take 16081-16084
KNOBS = {"PORT": PORT, "CQL_PORT": 16042 + OFFSET, "STORAGE_PORT": 16000 + OFFSET, "JMX_PORT": 16099 + OFFSET}
URL = f"http://127.0.0.1:{PORT}"
PASSWORD = "first hour password"
SIMULATE_SECONDS = 20
# What `make` run by `make test` passes down is not what a user's shell has.
ENV = {key: value for key, value in os.environ.items() if key not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
ENV["METRICS_SERVER_GRAPHITE_PORT"] = str(16003 + OFFSET)


@pytest.fixture(scope="module")
def tree():
    """A copy of the tree's files in a new folder, with this checkout's installs; its stack stopped at the end."""
    copy = Path(tempfile.mkdtemp(prefix="metrics_server_first_hour_"))
    copy.chmod(0o755)  # nginx's workers serve the frontend from it
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            check=True, capture_output=True).stdout.decode().split("\0")
    for name in (n for n in listed if n and (ROOT / n).is_file()):
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, copy / name)
    (copy / ".venv").symlink_to(ROOT / ".venv")
    (copy / "frontend" / "node_modules").symlink_to(ROOT / "frontend" / "node_modules")
    shutil.copytree(ROOT / "frontend" / "dist", copy / "frontend" / "dist")
    yield copy
    subprocess.run(["make", "-C", str(copy), "down", *knobs()], env=ENV, capture_output=True, timeout=300)
    shutil.rmtree(copy, ignore_errors=True)


def knobs() -> list[str]:
    return [f"{key}={value}" for key, value in KNOBS.items()]


class Steps:
    """Runs the README's commands in the copy, timing each; a failing command fails the test with its output."""

    def __init__(self, tree: Path):
        self.tree, self.times = tree, []

    def make(self, target: str, *extra: str, env: dict | None = None, timeout: float = 900) -> str:
        started = time.monotonic()
        result = subprocess.run(["make", "--no-print-directory", "-C", str(self.tree), target, *extra, *knobs()],
                                capture_output=True, text=True, timeout=timeout, env={**ENV, **(env or {})})
        self.times.append((f"make {target}", time.monotonic() - started))
        assert result.returncode == 0, f"make {target}: {result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        return result.stdout

    def cli(self, *args: str) -> str:
        """`python -m metrics_server.auth ...` as the README shows it, on the copy's Cassandra port."""
        result = subprocess.run([".venv/bin/python", "-m", "metrics_server.auth", *args], cwd=self.tree, timeout=120,
                                capture_output=True, text=True,
                                env={**ENV, "METRICS_SERVER_CASSANDRA_PORT": str(KNOBS["CQL_PORT"])})
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()


def signed_in() -> requests.Session:
    """The first admin's session, as the browser has it, with its CSRF token and origin for changes."""
    session = requests.Session()
    response = session.post(f"{URL}/api/auth/login", json={"username": "admin", "password": PASSWORD}, timeout=30)
    response.raise_for_status()
    session.headers.update({"X-CSRF-Token": response.json().get("csrf_token", ""), "Origin": URL})
    return session


def points(session: requests.Session, name: str, **params) -> list[dict]:
    response = session.get(f"{URL}/api/metrics/{name}/data", params={"limit": 100_000, **params}, timeout=60)
    response.raise_for_status()
    return response.json()


def poll(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f}s waiting for {what}"
        time.sleep(1)
    return value


def readme_curls() -> list[list[str]]:
    """Every curl command in the README's sh blocks, as words: a command goes on over lines ending in a backslash
    and over quoted text with newlines (a rule file in --data-binary)."""
    commands, pending = [], ""
    for block in re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S):
        for line in block.splitlines(keepends=True):
            if not pending and not line.startswith("curl "):
                continue
            pending += line
            try:
                words = shlex.split(pending.replace("\\\n", " "), comments=True)
            except ValueError:  # a quotation still open
                continue
            if not pending.rstrip().endswith("\\"):
                commands.append(words)
                pending = ""
    return commands


def curl(session: requests.Session, words: list[str]) -> requests.Response:
    """What curl does with -X, -H, -d / --data-binary and a URL on localhost:8080, sent to this stack instead."""
    method, headers, body, url = "GET", {}, None, None
    options = iter(words[1:])
    for word in options:
        if word == "-X":
            method = next(options)
        elif word == "-H":
            key, value = next(options).split(":", 1)
            headers[key] = value.strip()
        elif word in ("-d", "--data-binary"):
            body, method = next(options).encode(), "POST" if method == "GET" else method
        else:
            url = word if word.startswith("http") else "http://" + word
    return session.request(method, url.replace("localhost:8080", f"127.0.0.1:{PORT}"), headers=headers, data=body,
                           timeout=60)


def the_readme_examples(session: requests.Session) -> None:
    """Each curl the README shows, run as shown, gives what the README says it does."""
    commands = readme_curls()
    for words in commands:
        response = curl(session, words)
        what = " ".join(words)
        if "/api/metrics" in what and "request_latency" in what:  # the demo made it already: the seed's 409
            assert response.status_code in (201, 409) and "unit" in what, response.text
        else:
            assert response.status_code < 300, f"{what}: {response.status_code} {response.text[:500]}"
        if "/api/query" in what:  # "hourly averages of two hosts over the last day"
            series = response.json()["series"]
            assert sorted(s["labels"]["host"] for s in series) == ["web-1", "web-2"]
            assert response.json()["bins"] == "hour" and all(s["agg"] == "avg" for s in series)
            assert all(24 <= len(s["points"]) <= 25 for s in series)
    assert len(commands) >= 5, commands
    old = points(session, "cpu_usage", host="web-1", start_time="2024-02-02T11:43:00Z",
                 end_time="2024-02-02T11:44:01Z")
    assert [p["value"] for p in old] == [41.5, 42.5, 43.0]  # the batch and the compact form's two points
    rule = session.get(f"{URL}/api/alerts/rules/traffic", timeout=30).json()
    expr = rule["rules"][0]["expr"].rsplit(" > ", 1)[0]  # the alert's req/s over 2 minutes
    value = session.get(f"{URL}/api/v1/query", params={"query": expr}, timeout=30).json()["data"]["result"]
    assert float(value[0]["value"][1]) > 0  # the dashboard's own requests, seen by the log monitor


def same_answer(one: dict, other: dict) -> bool:
    """The same series and values, whether read raw (rollups still pending) or from hourly rollups."""
    def plain(answer):
        return {**answer, "series": [{k: v for k, v in s.items() if k != "resolution"} for s in answer["series"]]}
    return plain(one) == plain(other)


def test_the_readme_first_hour_on_a_fresh_copy(tree):
    steps = Steps(tree)
    try:
        first_hour(steps)
    finally:
        print("\n".join(f"{name:20} {seconds:6.1f} s" for name, seconds in steps.times))


def first_hour(steps: Steps) -> None:
    # "make up ... prints the URL", and while no user exists a one-time setup link
    up_since = int(time.time())
    out = steps.make("up")
    assert f"metrics_server is up: dashboard at {URL}/" in out, out
    link = re.search(rf"no user yet: open ({re.escape(URL)}/#setup=\S+) within 24 h", out).group(1)
    assert "running, pid" in steps.make("status") and "stopped" not in steps.make("status")

    with chromium() as browser:
        # "where you choose the first admin's name and password"
        browser.get(link)
        form = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "form[aria-label='Create the first admin']"))
        assert form.find_element(By.NAME, "username").get_attribute("value") == "admin"
        form.find_element(By.NAME, "password").send_keys(PASSWORD)
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".topbar"), message="the dashboard after setup")

        # "make demo loads a realistic month of data": it says what to open, and the chart draws it
        out = steps.make("demo")
        loaded = int(re.search(r"demo data loaded: (\d+) points", out).group(1))
        assert loaded > 400_000 and f"open {URL}/ and pick cpu_usage and request_latency" in out, out
        browser.get(f"{URL}/?m=cpu_usage&m=request_latency")
        main_chart(browser)
        idle(browser)
        axes = browser.find_elements(By.CSS_SELECTOR, "svg[data-testid=main-chart] g.axis-y")
        assert {axis.get_attribute("data-unit") for axis in axes} == {"%", "ms"}  # a y-axis per unit
        drawn = browser.find_elements(By.CSS_SELECTOR, "svg[data-testid=main-chart] .series")
        assert len(drawn) == 6  # web-1, web-2 and db-1 for each metric

    session = signed_in()
    # the README's hourly averages of two hosts, at a fixed end so the answer can be compared after a restart
    end = int(time.time()) // 3600 * 3600
    hourly = {"metric": 'cpu_usage{host="web-1",host="web-2"}', "start": end - 86_400, "end": end,
              "granularity": "hour", "agg": "avg"}
    before = session.get(f"{URL}/api/query", params=hourly, timeout=60)
    assert before.status_code == 200, before.text

    # "make simulate: 20 metrics every 300 ms into the running stack", with a write token made as the README says
    token = steps.cli("token", "create", "simulate", "--scope", "write", "--quiet")
    out = steps.make("simulate", f"DURATION={SIMULATE_SECONDS}", env={"METRICS_SERVER_TOKEN": token})
    summary = re.search(r"simulate: (\d+) points stored, \d+ requests resent, 0 points refused by the server, "
                        r"0 not sent", out)
    assert summary, out[-2000:]
    stored = sum(len(points(session, name, start_time="-1h")) for name, _ in metric_names(20, "sim"))
    assert stored == int(summary.group(1)) >= 20 * SIMULATE_SECONDS  # nothing lost to nginx's 50 requests/s

    # the log monitor's metrics, under names of their own beside the demo's http_requests
    monitor = session.get(f"{URL}/api/metrics/nginx_http_requests", timeout=30).json()
    assert monitor["type"] == "gauge" and "metrics-server tail --name nginx" in monitor["description"]
    demo = session.get(f"{URL}/api/metrics/http_requests", timeout=30).json()
    assert demo["type"] == "counter" and demo["label_keys"] == ["host"]
    seen = poll(lambda: points(session, "nginx_http_requests", log="nginx", start_time=up_since), 90,
                "the log monitor's first push")
    log = (steps.tree / "var" / "log" / "tail-nginx.log").read_text()
    assert "server refused" not in log and "Traceback" not in log, log[-2000:]
    # the README's request rate: per second, exactly what the monitor stored
    # the seconds that no longer take lines (the monitor pushes every 10 s)
    settled = sorted(second for p in seen if (second := int(datetime.fromisoformat(p["timestamp"]).timestamp()))
                     < time.time() - 15)
    seconds = settled[0], settled[-1]
    rate = session.get(f"{URL}/api/v1/query_range", timeout=60, params={
        "query": 'sum(sum_over_time(nginx_http_requests{log="nginx"}[999ms]))', "start": seconds[0],
        "end": seconds[-1], "step": "1s"}).json()["data"]["result"][0]["values"]
    in_range = points(session, "nginx_http_requests", log="nginx", start_time=seconds[0], end_time=seconds[-1] + 1)
    assert sum(float(v) for _, v in rate) == sum(p["value"] for p in in_range) > 0

    # the README's own commands (writes, a definition, a query, an alert rule) on this stack, with the admin's
    # session as the browser has it (a change needs the CSRF token it was given at sign-in)
    the_readme_examples(session)

    # "make down stops everything it started (data stays in var/)"
    assert "metrics_server stopped" in steps.make("down")
    assert "running" not in steps.make("status")
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{URL}/api/health", timeout=5)

    # "A second make up starts nothing twice" and the data is there; a user exists now, so no setup link
    out = steps.make("up")
    assert f"sign in at {URL}/" in out and "#setup=" not in out, out
    session = signed_in()
    after = session.get(f"{URL}/api/query", params=hourly, timeout=60)
    assert after.status_code == 200 and same_answer(after.json(), before.json())
    assert len(points(session, "sim_cycle_00", start_time="-1h")) > 0

    # "make clean deletes var/"
    steps.make("clean")
    assert not (steps.tree / "var").exists()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{URL}/api/health", timeout=5)
