"""An instance dies under load: nginx retries on the next one (POSTs too, even one cut mid-request), so clients
see no failure and every acknowledged point is stored; its supervisor starts it again within seconds."""
import os
import signal
import time
import uuid

import pytest
import requests
from harness import Writers, figures, in_flight, read_back, status_of, wait_until

from tools import pidfile
from tools import stack as stacks

pytestmark = pytest.mark.failure
MAX_KILLS = 5


def upstream_errors(stack: stacks.Stack) -> tuple[int, int]:
    """(all, cut): nginx's errors talking to an instance, and those where a POST was already sent and its
    connection died before the answer (the case only `proxy_next_upstream ... non_idempotent` retries)."""
    log = stack.log_dir / "nginx-error.log"
    lines = [line for line in log.read_text(errors="replace").splitlines() if "upstream" in line and "[error]" in line] \
        if log.exists() else []
    cut = [line for line in lines if 'request: "POST' in line and "while reading response header" in line]
    return len(lines), len(cut)


def restarts_counted(port: int) -> float:
    """The instance's own count of its supervised restarts (metrics_server_restarts_total on /metrics)."""
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return next(float(line.split()[1]) for line in text.splitlines() if line.startswith("metrics_server_restarts_total"))


def test_sigkill_an_instance_under_ingest_loses_no_request(cluster, report):
    metric = f"fail_kill_{uuid.uuid4().hex[:8]}"
    victim = cluster.backend_ports[1]
    pid_file = cluster.run_dir / f"backend-{victim}.pid"
    errors_before, cut_before = upstream_errors(cluster)
    started = time.monotonic()
    kills = acked_while_down = 0
    back_in: list[float] = []  # seconds from each kill to the instance serving again
    # The instance is killed while it is handling a POST (seen on its own /metrics), and again (at most MAX_KILLS
    # times) until nginx has seen a POST cut mid-request, so the retry of a sent POST is exercised.
    with Writers(cluster.url, metric, threads=4, batch=2000, max_seconds=150, pause=0.05) as writers:
        wait_until(lambda: writers.acked_count() >= 8000, 60, what=lambda: f"ingest to get going: {writers.state()}")
        while kills < MAX_KILLS and upstream_errors(cluster)[1] == cut_before:
            time.sleep(1)
            wait_until(lambda: in_flight(victim, "POST") > 0, 30, 0.005, what=f"a POST in flight on {victim}")
            acked_at_kill = writers.acked_count()
            killed = pidfile.running(pid_file)
            os.kill(killed, signal.SIGKILL)
            killed_at = time.monotonic()
            kills += 1
            # Nobody restarts it: its supervisor does (metrics_server.supervise), while ingest goes on with three.
            wait_until(lambda killed=killed: pidfile.running(pid_file) not in (None, killed), 30, 0.05,
                       what=f"instance {victim} to be started again by its supervisor")
            wait_until(lambda: status_of(f"http://127.0.0.1:{victim}/api/health") == 200, 60,
                       what=f"instance {victim} to serve again")
            back_in.append(round(time.monotonic() - killed_at, 1))
            acked_while_down += writers.acked_count() - acked_at_kill
        time.sleep(3)  # and with four again
    seconds = time.monotonic() - started
    stored = read_back(cluster.url, metric)
    errors, cut = upstream_errors(cluster)
    restarts = restarts_counted(victim)
    line = figures("instance SIGKILL + supervised restart (4 instances, nginx)", writers, stored, seconds,
                   kills=kills, back_in_seconds=back_in, restarts_counted=restarts,
                   acked_while_down=acked_while_down, nginx_upstream_errors=errors - errors_before,
                   posts_cut_mid_request_and_retried=cut - cut_before)
    report(line)
    assert writers.failures == [], f"{line}; failed requests: {writers.failures[:5]}"
    assert writers.acked and writers.acked <= stored, f"{line}; missing: {sorted(writers.acked - stored)[:5]}"
    assert stored <= writers.sent, line
    assert acked_while_down > 0, f"no point was acknowledged while the instance was down: {line}"
    assert cut > cut_before, f"no POST was in flight on the instance when it was killed {kills} times: {line}"
    assert max(back_in) < 60, f"the supervisor took too long to bring the instance back: {line}"
    assert restarts >= kills, f"the instance's metrics_server_restarts_total does not count its restarts: {line}"
