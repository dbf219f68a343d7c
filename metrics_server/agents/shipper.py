"""A bounded buffer of points on their way to the server, sent by one background thread so tailing never waits.

Points are keyed by (metric, labels, timestamp), as the server keys them: putting a newer value of a key replaces
the buffered one, and a point is removed only once a request that carried that very value was answered for good.
So an outage (network errors, 429, 5xx: retried with backoff, at least the server's Retry-After) costs memory up
to `max_points` (then the oldest are dropped, and counted), never a double count. What the server refuses for good
(a 4xx) is counted in `rejected` with the server's reason in `refused`, never dropped silently.
"""
import threading
import time

from metrics_server.agents.client import Client, SendError


class Shipper:
    """Buffers points and ships them in batches, retrying with backoff while the server is unreachable."""

    def __init__(self, client: Client, max_points: int = 200_000, batch: int = 20_000, setup=(),
                 clock=time.monotonic):
        self.client, self.max_points, self.batch, self.clock = client, max_points, batch, clock
        # Requests made once before the first points (metric definitions, the alert rule): a step the server
        # refuses for good (a 4xx) is reported and skipped, one that may succeed later is retried.
        self.setup = list(setup)
        self.pending: dict[tuple, object] = {}
        self.sent = self.dropped = self.rejected = self.failures = 0
        self.last_error: str | None = None
        # What the server refused for good, as (what, points, the server's reason), for the monitor to print.
        self.refused: list[tuple[str, int, str]] = []
        self.retry_at = 0.0
        self.backoff = 0.5
        self.thread: threading.Thread | None = None
        self.in_flight: list | None = None
        self.outcome = None  # the finished request's Delivery, or the SendError to retry after

    def put(self, points) -> None:
        for name, labels, ts, value in points:
            key = (name, labels, ts)
            self.pending.pop(key, None)
            self.pending[key] = value
        while len(self.pending) > self.max_points:
            del self.pending[next(iter(self.pending))]
            self.dropped += 1

    def _send(self, batch) -> None:
        try:
            while self.setup:
                try:
                    self.setup[0](self.client)
                except SendError as error:
                    if error.retryable:
                        raise
                    self.refused.append(("setup", 0, str(error)))
                self.setup.pop(0)
            self.outcome = self.client.send([(*key, value) for key, value in batch])
        except SendError as error:
            self.outcome = error

    def pump(self) -> None:
        """Settle a finished request, then start the next one when points wait and no backoff runs."""
        if self.thread is not None:
            if self.thread.is_alive():
                return
            self._settle()
        if self.pending and self.clock() >= self.retry_at:
            self.in_flight = [(key, self.pending[key]) for key, _ in zip(self.pending, range(self.batch))]
            self.thread = threading.Thread(target=self._send, args=(self.in_flight,), daemon=True)
            self.thread.start()

    def _settle(self) -> None:
        batch, outcome = self.in_flight, self.outcome
        self.thread = self.in_flight = None
        if isinstance(outcome, SendError):
            self.failures += 1
            self.last_error = str(outcome)
            self.retry_at = self.clock() + max(self.backoff, outcome.retry_after or 0.0)
            self.backoff = min(self.backoff * 2, 10.0)
            return
        for key, value in batch:
            if key in self.pending and self.pending[key] == value:
                del self.pending[key]
        self.sent += outcome.stored
        self.rejected += outcome.refused_points
        self.refused += outcome.refused
        self.backoff, self.last_error = 0.5, (outcome.refused[-1][2] if outcome.refused else None)

    def flush(self, timeout: float) -> bool:
        """Send what waits, for up to `timeout` seconds (at exit); True when nothing is left."""
        deadline = self.clock() + timeout
        while self.clock() < deadline:
            self.pump()
            if not self.pending and self.thread is None:
                return True
            if self.thread is not None:
                self.thread.join(max(0.0, deadline - self.clock()))
            else:
                time.sleep(min(0.1, max(0.0, self.retry_at - self.clock())))
        return not self.pending

    @property
    def busy(self) -> bool:
        return self.thread is not None

    def to_json(self) -> list:
        return [[name, [list(pair) for pair in labels], ts, value]
                for (name, labels, ts), value in self.pending.items()]

    def restore(self, saved: list) -> None:
        self.put((name, tuple(tuple(pair) for pair in labels), ts, value) for name, labels, ts, value in saved)
