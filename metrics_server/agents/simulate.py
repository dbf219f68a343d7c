"""`metrics-server simulate`: the Go seed's load simulator (20 metrics every 300 ms, concurrently), with shapes.

Each metric has its own thread and connection and sends one point every interval, as the seed's goroutines did.
The shapes cycle through: a daily-like cycle (sine plus noise), a noisy random walk, a baseline with rare spikes,
a counter (monotonic, type counter), an enum (a state machine: ok / degraded / down) and a latency histogram.
"""
import functools
import math
import random
import threading
import time
from dataclasses import dataclass, field

from metrics_server.agents.client import Client, SendError

SHAPES = ("cycle", "noise", "spikes", "counter", "enum", "histogram")
TYPES = {"counter": "counter", "enum": "enum", "histogram": "histogram"}
UNITS = {"cycle": "%", "noise": "ms", "spikes": "req/s", "counter": "req", "histogram": "s"}
STATES = ("ok", "degraded", "down")
LATENCY_BOUNDS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass
class Shape:
    """One metric's generator: `value(t)` gives its next value (a number, a state or histogram buckets)."""

    kind: str
    seed: int
    rng: random.Random = field(init=False)
    level: float = field(init=False)

    def __post_init__(self):
        self.rng = random.Random(self.seed)
        self.level = self.rng.uniform(20, 80)
        self.state = "ok"
        self.period = self.rng.uniform(60, 600)

    def value(self, t: float):
        r = self.rng
        if self.kind == "cycle":
            return round(self.level + 20 * math.sin(2 * math.pi * t / self.period) + r.gauss(0, 2), 3)
        if self.kind == "noise":
            self.level = max(0.0, self.level + r.gauss(0, 3))
            return round(self.level, 3)
        if self.kind == "spikes":
            return round(self.level * (r.uniform(4, 10) if r.random() < 0.02 else 1) + r.gauss(0, 1), 3)
        if self.kind == "counter":
            self.level += r.randint(0, 50)
            return float(int(self.level))
        if self.kind == "enum":
            if r.random() < 0.05:
                self.state = r.choices(STATES, weights=(6, 3, 1))[0]
            return self.state
        buckets, slow = [0] * (len(LATENCY_BOUNDS) + 1), 1 + 3 * (math.sin(2 * math.pi * t / self.period) > 0.9)
        for _ in range(r.randint(20, 60)):
            seconds = r.lognormvariate(math.log(0.08 * slow), 0.7)
            buckets[sum(seconds > b for b in LATENCY_BOUNDS)] += 1
        return {**{f"{b:g}": n for b, n in zip(LATENCY_BOUNDS, buckets)}, "+inf": buckets[-1]}


@dataclass
class Stats:
    """Counts shared by the sender threads (under a lock): points stored, requests to retry, points refused."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: int = 0
    retried: int = 0
    refused: int = 0
    last_error: str = ""

    def add(self, sent: int = 0, retried: int = 0, refused: int = 0, error: str | None = None) -> None:
        with self.lock:
            self.sent += sent
            self.retried += retried
            self.refused += refused
            self.last_error = error or self.last_error

    def take(self) -> tuple[int, int, int, str]:
        with self.lock:
            out = (self.sent, self.retried, self.refused, self.last_error)
            self.sent = self.retried = self.refused = 0
            self.last_error = ""
            return out


def metric_names(count: int, prefix: str) -> list[tuple[str, str]]:
    """(name, shape) for `count` metrics, the shapes taken in turn."""
    return [(f"{prefix}_{SHAPES[i % len(SHAPES)]}_{i:02d}", SHAPES[i % len(SHAPES)]) for i in range(count)]


class Sender:
    """One metric's points on their way: those not yet stored wait in `pending` and go with the next request, so
    a 429 or 5xx (or a network error) costs a delay, never a point; a resend after a Retry-After or an
    exponential backoff. What the server refuses for good is counted with its reason, and what is still waiting
    at the end is reported: nothing is dropped silently (issue 23)."""

    def __init__(self, client: Client, stats: Stats, backoff: float, most: int = 10_000):
        self.client, self.stats, self.first_backoff, self.most = client, stats, backoff, most
        self.pending: list = []
        self.backoff, self.retry_at, self.dropped = backoff, 0.0, 0

    def add(self, point) -> None:
        self.pending.append(point)
        if len(self.pending) > self.most:  # about 50 minutes of one metric at 300 ms
            del self.pending[0]
            self.dropped += 1

    def attempt(self, now: float) -> None:
        """Send what waits unless a backoff runs."""
        if not self.pending or now < self.retry_at:
            return
        try:
            delivery = self.client.send(self.pending)
        except SendError as error:
            self.stats.add(retried=1, error=str(error))
            self.retry_at = now + max(self.backoff, error.retry_after or 0.0)
            self.backoff = min(self.backoff * 2, 10.0)
            return
        self.pending.clear()
        self.backoff, self.retry_at = self.first_backoff, 0.0
        self.stats.add(sent=delivery.stored, refused=delivery.refused_points,
                       error="; ".join(f"{where}: {why}" for where, _, why in delivery.refused) or None)

    def flush(self, seconds: float) -> None:
        """At the end: keep resending what waits for up to `seconds`."""
        deadline = time.time() + seconds
        while self.pending and time.time() < deadline:
            time.sleep(max(0.0, min(self.retry_at, deadline) - time.time()))
            self.attempt(time.time())


def sender(args, name: str, shape: Shape, stats: Stats, stop: threading.Event, start: float,
           unsent: list[int]) -> None:
    """Make one point every interval until stopped (a late tick is skipped, not made in a burst), sending as the
    server lets; at the end, what could not be sent is added to `unsent`."""
    client = Client(args.url, token=args.token, timeout=args.timeout, protocol=args.protocol)
    out = Sender(client, stats, backoff=args.interval)
    labels = tuple(sorted(args.labels.items()))
    step, tick = args.interval, 1
    try:
        while not stop.wait(max(0.0, start + tick * step - time.time())):
            now = time.time()
            tick = int((now - start) / step) + 1
            out.add((name, labels, int(now * 1000), shape.value(now)))
            out.attempt(now)
        out.flush(args.flush_timeout)
    finally:
        client.close()
        unsent.append(len(out.pending) + out.dropped)


def answered(request, attempts: int = 6):
    """A request retried while the server answers that it may succeed later (429, 5xx: after its Retry-After or a
    backoff); a network error or a refusal is raised at once."""
    for attempt in range(attempts):
        try:
            return request()
        except SendError as error:
            if not error.retryable or error.status is None or attempt == attempts - 1:
                raise
            time.sleep(max(0.5 * 2 ** attempt, error.retry_after or 0.0))


def run(args, out) -> int:
    """Define the metrics, start one sender per metric, print per-second figures until --duration or Ctrl-C."""
    metrics = metric_names(args.metrics, args.prefix)
    setup = Client(args.url, token=args.token, timeout=args.timeout)
    try:
        for name, kind in metrics:
            define = functools.partial(setup.define, name, TYPES.get(kind, "gauge"), sorted(args.labels),
                                       UNITS.get(kind, ""), f"metrics-server simulate: {kind}")
            answered(define)
    except SendError as error:
        print(f"simulate: cannot define metrics at {args.url}: {error}", file=out, flush=True)
        return 1
    finally:
        setup.close()
    stop, stats, start, unsent = threading.Event(), Stats(), time.time(), []
    threads = [threading.Thread(target=sender, args=(args, name, Shape(kind, i), stats, stop, start, unsent),
                                daemon=True) for i, (name, kind) in enumerate(metrics)]
    for thread in threads:
        thread.start()
    print(f"simulate: {len(metrics)} metrics every {args.interval * 1000:g} ms to {args.url} "
          f"({args.protocol}); Ctrl-C stops", file=out, flush=True)
    totals, last = [0, 0, 0], ""
    try:
        second = start
        while not args.duration or time.time() - start < args.duration:
            second += 1
            time.sleep(max(0.0, second - time.time()))
            counts = stats.take()
            totals, last = [a + b for a, b in zip(totals, counts[:3])], counts[3] or last
            print(f"{time.strftime('%H:%M:%S')} stored {counts[0]} points/s, {counts[1]} requests to resend, "
                  f"{counts[2]} points refused" + (f" (last: {counts[3]})" if counts[3] else ""), file=out, flush=True)
    except KeyboardInterrupt:
        pass
    stop.set()
    for thread in threads:
        thread.join(args.flush_timeout + args.timeout + 1)
    counts = stats.take()
    (stored, retried, refused), last = (a + b for a, b in zip(totals, counts[:3])), counts[3] or last
    lost = refused + sum(unsent) + (len(threads) - len(unsent))  # a thread still busy has its points unsent
    print(f"simulate: {stored} points stored, {retried} requests resent, {refused} points refused by the server, "
          f"{sum(unsent)} not sent" + (f" (last error: {last})" if last else ""), file=out, flush=True)
    return 0 if stored and not lost else 1
