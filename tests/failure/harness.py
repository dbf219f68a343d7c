"""The failure tests' harness: writer threads that count what they sent and what was acknowledged, read-back
through the API, and helpers to wait for real processes. Every loop is bounded in count and in time."""
import json
import os
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

import requests

BASE_TS = 1_704_067_200_000  # 2024-01-01T00:00:00Z: every point of a test falls in one day, one partition a writer
CUT_RETRIES = 3
REPORT: list[str] = []  # lines printed in pytest's terminal summary (see conftest.py)
# The session's admin token (tests/conftest.py puts it in the environment and into every stack's config).
AUTH = {"Authorization": "Bearer " + os.environ["METRICS_TEST_ADMIN_TOKEN"]}


def session() -> requests.Session:
    """A keep-alive HTTP session that authenticates as the admin token."""
    http = requests.Session()
    http.headers.update(AUTH)
    return http


@dataclass
class Outcome:
    """What one writer thread saw."""

    sent: set = field(default_factory=set)
    acked: set = field(default_factory=set)
    acked_at: dict = field(default_factory=dict)  # first (writer, ts) of each acknowledged batch -> seconds
    sent_at: dict = field(default_factory=dict)  # first (writer, ts) of each batch -> seconds when it was sent
    requests: int = 0
    failures: list = field(default_factory=list)  # (elapsed seconds, status or exception, first 200 chars)
    cut_responses: int = 0  # answers cut after their head, sent again


class Writers:
    """Client threads posting /api/write batches with unique timestamps: writer i owns series {writer: wi}."""

    def __init__(self, url: str, metric: str, threads: int = 4, batch: int = 200, max_seconds: float = 120,
                 max_batches: int = 2000, pause: float = 0.0, pause_after_failure: float = 0.2):
        self.url, self.metric, self.batch = url, metric, batch
        self.max_seconds, self.max_batches = max_seconds, max_batches
        self.pause, self.pause_after_failure = pause, pause_after_failure
        self.outcomes = [Outcome() for _ in range(threads)]
        self.statuses: dict = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)]
        self.started = 0.0

    def __enter__(self):
        self.started = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self) -> None:
        """Ask every thread to finish its request in flight, and wait for them (bounded)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=150)

    def _run(self, index: int) -> None:
        outcome, writer = self.outcomes[index], f"w{index}"
        http = session()
        seq = 0
        deadline = self.started + self.max_seconds
        for _ in range(self.max_batches):
            if self._stop.is_set() or time.monotonic() > deadline:
                break
            stamps = [BASE_TS + seq + i for i in range(self.batch)]
            seq += self.batch
            body = [{"name": self.metric, "labels": {"writer": writer}, "value": float(ts % 1000), "timestamp": ts}
                    for ts in stamps]
            outcome.sent.update((writer, ts) for ts in stamps)
            outcome.sent_at[(writer, stamps[0])] = round(time.monotonic() - self.started, 2)
            outcome.requests += 1
            status, text = self._post(http, body, outcome)
            with self._lock:
                self.statuses[status] = self.statuses.get(status, 0) + 1
            if status == 201:
                outcome.acked.update((writer, ts) for ts in stamps)
                outcome.acked_at[(writer, stamps[0])] = round(time.monotonic() - self.started, 2)
                time.sleep(self.pause)
            else:
                outcome.failures.append((round(time.monotonic() - self.started, 1), status, text[:200]))
                time.sleep(self.pause_after_failure)

    def _post(self, http: requests.Session, body: list, outcome: Outcome) -> tuple:
        """POST a batch. An answer cut after its head (its instance killed mid-answer, too late for nginx to try
        another) leaves the outcome unknown, so the batch is sent again, as any client must; a retry stores each
        point once."""
        for _ in range(CUT_RETRIES):
            try:
                response = http.post(f"{self.url}/api/write", json=body, timeout=90)
                return response.status_code, response.text
            except requests.exceptions.ChunkedEncodingError:
                outcome.cut_responses += 1
            except requests.RequestException as error:
                return type(error).__name__, str(error)
        return "ChunkedEncodingError", f"the answer was cut {CUT_RETRIES} times"

    @property
    def cut_responses(self) -> int:
        return sum(o.cut_responses for o in self.outcomes)

    @property
    def sent(self) -> set:
        return set().union(*(o.sent for o in self.outcomes))

    @property
    def acked(self) -> set:
        return set().union(*(o.acked for o in self.outcomes))

    @property
    def failures(self) -> list:
        return [failure for o in self.outcomes for failure in o.failures]

    @property
    def requests(self) -> int:
        return sum(o.requests for o in self.outcomes)

    def acked_count(self) -> int:
        return sum(len(o.acked) for o in self.outcomes)

    def acked_between(self, start: float, end: float) -> set:
        """Points of the batches sent after `start` and acknowledged before `end` (monotonic clock)."""
        start, end = start - self.started, end - self.started
        # a copy (one step under the GIL) of what the writer threads are still adding to
        return {(writer, ts) for o in self.outcomes for (writer, first), acked in o.acked_at.copy().items()
                if o.sent_at[(writer, first)] >= start and acked <= end for ts in range(first, first + self.batch)}

    def batches_of(self, points: set) -> list[str]:
        """The acknowledged batches holding these points, with when each was acknowledged (for a failure's message)."""
        firsts = {first: at for o in self.outcomes for first, at in o.acked_at.copy().items()}
        found = sorted({(writer, ts - (ts - BASE_TS) % self.batch) for writer, ts in points})
        return [f"{writer}@{ts} acked at {firsts.get((writer, ts))}s" for writer, ts in found[:5]]

    def state(self) -> str:
        """Statuses so far and the last failures, for a timeout's message."""
        return f"statuses {self.statuses}, last failures {sorted(self.failures)[-3:]}"


def read_back(url: str, metric: str, timeout: float = 120) -> set:
    """Every stored (writer, ts) of a metric, read through the API page by page (bounded)."""
    http = session()
    found: set = set()
    cursor = None
    deadline = time.monotonic() + timeout
    for _ in range(1000):
        params = {"limit": 100_000, **({"cursor": cursor} if cursor else {})}
        response = http.get(f"{url}/api/metrics/{urllib.parse.quote(metric)}/data", params=params, timeout=90)
        assert response.status_code == 200, f"read-back failed: {response.status_code} {response.text[:300]}"
        found.update((point["labels"]["writer"], iso_ms(point["timestamp"])) for point in response.json())
        cursor = response.headers.get("X-Next-Cursor")
        if not cursor or time.monotonic() > deadline:
            break
    return found


def iso_ms(text: str) -> int:
    """Epoch milliseconds of the API's ISO 8601 timestamps (UTC, 'Z', optional fraction)."""
    from datetime import datetime
    return round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def wait_until(predicate, timeout: float, pause: float = 0.5, what="condition"):
    """Poll until predicate() is truthy (and return it); fail the test with `what` (text, or a function giving
    the text at that moment) after the timeout."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as error:  # a probe may fail while processes restart
            last_error = error
        time.sleep(pause)
    what = what() if callable(what) else what
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}" + (f" ({last_error})" if last_error else ""))


def in_flight(port: int, method: str) -> float:
    """How many requests of `method` an instance is handling now, from its own /metrics (asked directly, not
    through nginx; the scrape itself is one GET)."""
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    found = re.search(rf'^metrics_server_http_requests_in_flight\{{method="{method}"\}} (\S+)$', text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def status_of(url: str, timeout: float = 5) -> int | str:
    """The HTTP status of a GET, or the exception's name when there is no answer."""
    try:
        return requests.get(url, timeout=timeout).status_code
    except requests.RequestException as error:
        return type(error).__name__


def figures(test: str, writers: Writers, stored: set, seconds: float, **extra) -> str:
    """One report line: points sent, acknowledged, read back; failed requests; anything else measured."""
    acked = writers.acked
    line = {"test": test, "seconds": round(seconds, 1), "requests": writers.requests,
            "points_sent": len(writers.sent), "points_acked": len(acked),
            "points_read_back": len(stored & writers.sent), "acked_missing": len(acked - stored),
            "failed_requests": len(writers.failures), "answers_cut_and_sent_again": writers.cut_responses, **extra}
    return json.dumps(line)


def node_by_address(stack, address: str):
    """The stack's Cassandra node listening on that address."""
    return next(node for node in stack.cassandra_nodes() if node.address == address)
