"""SIGTERM drains an instance: slow requests already in flight (large writes, a large read) finish with 2xx
before it exits, while nginx sends new requests to the other instances."""
import os
import signal
import threading
import time
import uuid

import pytest
import requests
from harness import AUTH, BASE_TS, Writers, figures, in_flight, read_back, status_of, wait_until

from tools import pidfile
from tools import stack as stacks

pytestmark = pytest.mark.failure
BIG_BATCH = 100_000


def big_batch(metric: str, writer: str) -> list[dict]:
    return [{"name": metric, "labels": {"writer": writer}, "value": float(i), "timestamp": BASE_TS + i}
            for i in range(BIG_BATCH)]


def test_sigterm_drains_slow_requests(cluster, report):
    metric = f"fail_term_{uuid.uuid4().hex[:8]}"
    port = cluster.backend_ports[3]
    direct = f"http://127.0.0.1:{port}"
    pid_file = cluster.run_dir / f"backend-{port}.pid"
    # A large series to read back slowly, written before the signal.
    assert requests.post(f"{cluster.url}/api/write", json=big_batch(metric, "read"), headers=AUTH,
                         timeout=120).status_code == 201
    results: dict[str, tuple] = {}

    def call(name: str, method: str, url: str, **kwargs) -> None:
        begun = time.monotonic()
        try:
            response = requests.request(method, url, headers=AUTH, timeout=120, **kwargs)
            results[name] = (response.status_code, time.monotonic(), len(response.content), time.monotonic() - begun)
        except requests.RequestException as error:
            results[name] = (type(error).__name__, time.monotonic(), 0, time.monotonic() - begun)

    slow = [threading.Thread(target=call, args=(f"write w{i}", "POST", f"{direct}/api/write"),
                             kwargs={"json": big_batch(metric, f"big{i}")}) for i in range(2)]
    slow.append(threading.Thread(target=call, args=("read csv", "GET", f"{direct}/api/metrics/{metric}/data"),
                                 kwargs={"params": {"format": "csv", "limit": 100_000, "writer": "read"}}))
    started = time.monotonic()
    with Writers(cluster.url, f"{metric}_bg", threads=2, batch=200, max_seconds=90, pause=0.05) as writers:
        wait_until(lambda: writers.acked_count() >= 1000, 60, what=lambda: f"ingest to get going: {writers.state()}")
        for thread in slow:
            thread.start()
        wait_until(lambda: in_flight(port, "POST") >= 1, 30, 0.005, what=f"a large write in flight on {port}")
        signalled = time.monotonic()
        # As `make down` stops it: the supervisor passes SIGTERM on to the instance, and does not restart it.
        os.kill(pidfile.running(pidfile.supervisor_pid_file(pid_file)), signal.SIGTERM)
        refused = wait_until(lambda: status_of(f"{direct}/api/health", 2) == "ConnectionError", 10, 0.1,
                             what="the listener to close at once")
        for thread in slow:
            thread.join(timeout=150)
        wait_until(lambda: pidfile.running(pid_file) is None, 45, 0.2, what="the instance to exit after draining")
        exited = time.monotonic()
        time.sleep(1)  # nginx goes on with the three others
    writers_stored = read_back(cluster.url, f"{metric}_bg")
    stored = read_back(cluster.url, metric)
    stacks.start_instance(cluster, port)
    wait_until(lambda: status_of(f"{direct}/api/health") == 200, 60, what="the instance to serve again")
    after_signal = sorted(name for name, (_, done, _, _) in results.items() if done > signalled)
    line = figures("instance SIGTERM while slow requests are in flight", writers, writers_stored,
                   time.monotonic() - started,
                   slow_requests={name: {"status": status, "seconds": round(took, 1), "bytes": size}
                                  for name, (status, _, size, took) in results.items()},
                   finished_after_sigterm=after_signal, exit_seconds_after_sigterm=round(exited - signalled, 1),
                   big_points_stored=len({p for p in stored if p[0].startswith("big")}))
    report(line)
    assert refused
    assert all(status in (200, 201) for status, *_ in results.values()) and len(results) == 3, line
    assert after_signal, f"every slow request finished before the signal, so none was drained: {line}"
    assert results["read csv"][2] > BIG_BATCH * 20, f"the CSV read came back short: {line}"
    assert len({p for p in stored if p[0].startswith("big")}) == 2 * BIG_BATCH, line
    assert writers.failures == [] and writers.acked <= writers_stored, f"{line}; {writers.failures[:5]}"
