"""`metrics-server simulate`: the Go seed's load simulator (20 metrics every 300 ms, concurrently), with shapes.

Each metric has its own thread and connection and sends one point every interval, as the seed's goroutines did.
The shapes cycle through: a daily-like cycle (sine plus noise), a noisy random walk, a baseline with rare spikes,
a counter (monotonic, type counter), an enum (a state machine: ok / degraded / down) and a latency histogram.
"""
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
    """Counts shared by the sender threads (under a lock)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: int = 0
    errors: int = 0
    last_error: str = ""

    def add(self, sent: int = 0, error: str | None = None) -> None:
        with self.lock:
            self.sent += sent
            if error:
                self.errors += 1
                self.last_error = error

    def take(self) -> tuple[int, int, str]:
        with self.lock:
            out = (self.sent, self.errors, self.last_error)
            self.sent = self.errors = 0
            self.last_error = ""
            return out


def metric_names(count: int, prefix: str) -> list[tuple[str, str]]:
    """(name, shape) for `count` metrics, the shapes taken in turn."""
    return [(f"{prefix}_{SHAPES[i % len(SHAPES)]}_{i:02d}", SHAPES[i % len(SHAPES)]) for i in range(count)]


def sender(args, name: str, shape: Shape, stats: Stats, stop: threading.Event, start: float) -> None:
    """Send one point every interval until stopped; a late tick is skipped, not sent in a burst."""
    client = Client(args.url, token=args.token, timeout=args.timeout, protocol=args.protocol)
    labels = tuple(sorted(args.labels.items()))
    step, tick = args.interval, 1
    try:
        while not stop.wait(max(0.0, start + tick * step - time.time())):
            now = time.time()
            tick = int((now - start) / step) + 1
            try:
                stats.add(sent=client.send([(name, labels, int(now * 1000), shape.value(now))]))
            except SendError as error:
                stats.add(error=f"{name}: {error}")
    finally:
        client.close()


def run(args, out) -> int:
    """Define the metrics, start one sender per metric, print per-second figures until --duration or Ctrl-C."""
    metrics = metric_names(args.metrics, args.prefix)
    setup = Client(args.url, token=args.token, timeout=args.timeout)
    try:
        for name, kind in metrics:
            setup.define(name, TYPES.get(kind, "gauge"), sorted(args.labels), UNITS.get(kind, ""),
                         f"metrics-server simulate: {kind}")
    except SendError as error:
        print(f"simulate: cannot define metrics at {args.url}: {error}", file=out, flush=True)
        return 1
    finally:
        setup.close()
    stop, stats, start = threading.Event(), Stats(), time.time()
    threads = [threading.Thread(target=sender, args=(args, name, Shape(kind, i), stats, stop, start), daemon=True)
               for i, (name, kind) in enumerate(metrics)]
    for thread in threads:
        thread.start()
    print(f"simulate: {len(metrics)} metrics every {args.interval * 1000:g} ms to {args.url} "
          f"({args.protocol}); Ctrl-C stops", file=out, flush=True)
    total_sent = total_errors = 0
    try:
        second = start
        while not args.duration or time.time() - start < args.duration:
            second += 1
            time.sleep(max(0.0, second - time.time()))
            sent, errors, last = stats.take()
            total_sent, total_errors = total_sent + sent, total_errors + errors
            print(f"{time.strftime('%H:%M:%S')} sent {sent} points/s, {errors} errors"
                  + (f" (last: {last})" if last else ""), file=out, flush=True)
    except KeyboardInterrupt:
        pass
    stop.set()
    for thread in threads:
        thread.join(args.timeout + 1)
    sent, errors, _ = stats.take()
    total_sent, total_errors = total_sent + sent, total_errors + errors
    print(f"simulate: {total_sent} points sent, {total_errors} errors", file=out, flush=True)
    return 0 if total_sent else 1
