"""Deliveries against a real local HTTP receiver: bounded retries with backoff, every attempt recorded, no
retry of a 4xx, and submitting never waits on a receiver."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from metrics_server.alerting.notify import MAX_BATCH, Notifier, Receiver


@pytest.fixture
def flaky():
    """A receiver answering the statuses queued in `answers` (then 200), recording the bodies it got."""
    state = {"answers": [], "bodies": [], "delay": 0.0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            state["bodies"].append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            time.sleep(state["delay"])
            self.send_response(state["answers"].pop(0) if state["answers"] else 200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def notifier_for(url: str, kind: str = "alertmanager", **kwargs):
    attempts, results = [], []
    notifier = Notifier([Receiver("r", kind, url)], record=lambda *a: attempts.append(a),
                        on_result=lambda receiver, ok: results.append(ok), backoff=0.05, **kwargs).start()
    return notifier, attempts, results


def wait_idle(notifier: Notifier) -> None:
    deadline = time.monotonic() + 30
    while not notifier.idle() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_failing_receiver_is_retried_with_backoff_until_it_answers(flaky):
    flaky["answers"] = [500, 503]
    notifier, attempts, results = notifier_for(flaky["url"])
    notifier.submit("alertmanager", [{"labels": {"alertname": "A"}}], 1)
    wait_idle(notifier)
    notifier.stop()
    assert [(a[2], a[3], a[4]) for a in attempts] == [(1, False, 500), (2, False, 503), (3, True, 200)]
    assert attempts[0][1] == flaky["url"] + "/api/v2/alerts" and results == [True]
    assert flaky["bodies"] == [[{"labels": {"alertname": "A"}}]] * 3


def test_attempts_are_bounded_and_a_4xx_is_not_retried(flaky):
    flaky["answers"] = [500] * 10
    notifier, attempts, results = notifier_for(flaky["url"], attempts=3)
    notifier.submit("alertmanager", [{"labels": {"alertname": "A"}}], 1)
    wait_idle(notifier)
    flaky["answers"] = [400]
    notifier.submit("alertmanager", [{"labels": {"alertname": "B"}}], 1)
    wait_idle(notifier)
    notifier.stop()
    assert [a[4] for a in attempts] == [500, 500, 500, 400] and results == [False, False]


def test_an_unreachable_receiver_is_recorded_with_its_error():
    notifier, attempts, results = notifier_for("http://127.0.0.1:9/hook", kind="webhook", attempts=2)
    notifier.submit("webhook", {"version": "4"}, 1)
    wait_idle(notifier)
    notifier.stop()
    assert [(a[2], a[3], a[4]) for a in attempts] == [(1, False, None), (2, False, None)]
    assert "refused" in attempts[0][5].lower() and results == [False]


def test_submitting_never_waits_for_a_slow_receiver(flaky):
    flaky["delay"] = 1.0
    notifier, _, _ = notifier_for(flaky["url"])
    started = time.perf_counter()
    for _ in range(20):
        notifier.submit("alertmanager", [], 0)
    assert time.perf_counter() - started < 0.1
    notifier.stop(timeout=0.1)


def test_alerts_queued_across_groups_go_to_an_alertmanager_in_batches(flaky):
    """As Prometheus' notifier: what waits in the queue is joined and posted MAX_BATCH alerts at a time."""
    flaky["delay"] = 0.3
    notifier, attempts, _ = notifier_for(flaky["url"])
    notifier.submit("alertmanager", [{"labels": {"alertname": "first"}}], 1)
    time.sleep(0.1)  # the first POST is under way; the next ten submissions (ten groups) wait for it
    for group in range(10):
        notifier.submit("alertmanager", [{"labels": {"alertname": f"g{group}", "i": str(i)}} for i in range(10)], 10)
    wait_idle(notifier)
    notifier.stop()
    assert [len(body) for body in flaky["bodies"]] == [1, MAX_BATCH, 100 - MAX_BATCH]
    assert [a[6] for a in attempts] == [1, MAX_BATCH, 100 - MAX_BATCH]
