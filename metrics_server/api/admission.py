"""Write admission (issue 23): the limits of the write endpoints, which never drop an agent's data. A write is
refused only with 503 and Retry-After, which every sender retries (Prometheus drops a batch answered 429, and
nginx no longer limits writes per client address): when it waited over `max_write_wait` seconds between nginx and
a free thread of this instance (overload: the instances take fewer than arrive, and a longer queue would only end
in nginx's timeout), and when the token's samples stored by this instance went over `token_write_rate_limit` a
second. A sender whose writes are refused resends them later, so a limit slows it down and loses nothing."""
import math
import threading
import time

from flask import Flask, current_app, g, request

from metrics_server.auth.policy import WRITE_ENDPOINTS
from metrics_server.errors import ApiError

QUEUED_SINCE = "X-Request-Start"  # nginx's clock when it passed the request on: "t=<seconds.milliseconds>"
MAX_SENDERS = 100_000  # budgets remembered; past that they start afresh (bounded memory)


class WriteRefused(ApiError):
    """A write this instance cannot take now; the sender retries it after Retry-After seconds."""

    status = 503


class WriteAdmission:
    """How long writes wait for this instance, and each sender's samples budget (a token bucket that may go
    into debt: a request is refused only while its sender owes samples, so one request of any allowed size
    always passes, and is charged what it stored)."""

    def __init__(self, max_wait: float, samples_per_second: float, clock=time.monotonic):
        self.max_wait, self.rate, self.clock = max_wait, samples_per_second, clock
        self._budgets: dict[str, tuple[float, float]] = {}  # sender: (samples left, when counted)
        self._lock = threading.Lock()

    def admit(self, sender: str, waited: float) -> None:
        """Let a write of `sender` that waited `waited` seconds for a thread go ahead, or raise WriteRefused
        saying which limit and when to retry."""
        if self.max_wait and waited > self.max_wait:
            raise WriteRefused(f"overloaded: this write waited {waited:.1f} s for the instance (max_write_wait: "
                               f"{self.max_wait:g} s); retry after the Retry-After seconds",
                               headers={"Retry-After": "1"})
        with self._lock:
            owed = -self._left(sender)
        if owed > 0:
            raise WriteRefused(f"too many samples from {sender} (token_write_rate_limit: {self.rate:g} samples "
                               f"per second and instance); retry after the Retry-After seconds",
                               headers={"Retry-After": str(max(1, math.ceil(owed / self.rate)))})

    def charge(self, sender: str, samples: int) -> None:
        """Count samples a sender stored against its budget."""
        if self.rate <= 0:
            return
        with self._lock:
            if len(self._budgets) > MAX_SENDERS:
                self._budgets.clear()
            self._budgets[sender] = (self._left(sender) - samples, self.clock())

    def _left(self, sender: str) -> float:
        """The sender's samples left now (negative: owed); the bucket holds up to two seconds' worth."""
        if self.rate <= 0:
            return 0.0
        left, then = self._budgets.get(sender, (2 * self.rate, self.clock()))
        return min(2 * self.rate, left + (self.clock() - then) * self.rate)


def sender() -> str:
    """Who the budget is kept for: the principal the guard authenticated (everyone alike without auth)."""
    principal = g.get("principal")
    return f"{principal.kind} '{principal.name}'" if principal is not None else "anonymous"


def charge(samples: int) -> None:
    """Count samples stored by the current request against its sender's budget."""
    current_app.extensions["write_admission"].charge(sender(), samples)


def waited() -> float:
    """Seconds since nginx passed the request on (0 without its header: a request straight to the instance)."""
    stamp = request.headers.get(QUEUED_SINCE, "").removeprefix("t=")
    try:
        return max(0.0, time.time() - float(stamp)) if stamp else 0.0
    except ValueError:
        return 0.0


def init_app(app: Flask) -> None:
    """Admit write requests after the guard authenticated them (registered after it)."""
    config = app.config["METRICS_SERVER"]
    admission = WriteAdmission(config["max_write_wait"], config["token_write_rate_limit"])
    app.extensions["write_admission"] = admission

    @app.before_request
    def admit_write() -> None:
        if request.endpoint in WRITE_ENDPOINTS:
            admission.admit(sender(), waited())
