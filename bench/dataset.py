"""One realistic data set, the same bytes every run: metrics × hosts, a point a minute, daily cycles, noise, outages."""
from dataclasses import dataclass

import numpy as np

MINUTE = 60_000
DAY = 86_400_000
END_MS = 1_793_491_200_000  # 2026-11-01T00:00:00Z: a fixed end, so every run stores the same points
SEED = 20261101


@dataclass(frozen=True)
class MetricSpec:
    """How one metric behaves: level, daily swing, noise, bounds and the digits an agent reports."""

    name: str
    unit: str
    description: str
    level: float
    swing: float
    noise: float
    decimals: int
    low: float
    high: float = np.inf
    log: bool = False  # multiplicative (latencies): level × exp(swing·cycle + noise)
    counter: bool = False  # a counter: the running total of such values (requests served per minute)


METRICS = (
    MetricSpec("cpu_usage", "%", "CPU busy", 35, 20, 6, 2, 0, 100),
    MetricSpec("request_latency", "ms", "request latency", 20, 0.35, 0.25, 3, 0.1, log=True),
    MetricSpec("net_throughput", "bytes/s", "network throughput", 4e6, 2.5e6, 6e5, 0, 0),
    MetricSpec("temperature", "°C", "CPU temperature", 48, 9, 0.6, 1, 15, 105),
)
# the PromQL round's 200 series of one counter; 3 decimals, so that topk meets no ties, which Prometheus breaks by
# the order its head created series in
FLEET = (MetricSpec("requests_total", "1", "requests served", 600, 300, 80, 3, 0, counter=True),)


@dataclass(frozen=True)
class Series:
    """One metric on one host: the points it reported (gaps where the host was down)."""

    metric: MetricSpec
    host: str
    ts: np.ndarray
    value: np.ndarray

    @property
    def labels(self) -> dict[str, str]:
        return {"host": self.host}


@dataclass(frozen=True)
class Dataset:
    """Every series, and every point once more as columns sorted by (time, series) for batching."""

    series: list[Series]
    start_ms: int
    end_ms: int
    index: np.ndarray
    ts: np.ndarray
    value: np.ndarray

    def __len__(self) -> int:
        return len(self.ts)

    def batches(self, size: int):
        """(series index, ts, value) column slices of `size` points each, in time order: what agents that
        report every host's latest minutes at once would send."""
        for start in range(0, len(self), size):
            stop = start + size
            yield self.index[start:stop], self.ts[start:stop], self.value[start:stop]


def make_series(rng: np.random.Generator, spec: MetricSpec, host: str, start_ms: int, days: int) -> Series:
    """A month of minutes for one host: its own phase, offset within the minute, noise, and a few outages."""
    n = days * 1440
    minutes = np.arange(n)
    phase = rng.uniform(0, 2 * np.pi)
    cycle = np.sin(2 * np.pi * minutes / 1440 + phase) + 0.3 * np.sin(2 * np.pi * minutes / (7 * 1440) + phase)
    wander = np.cumsum(rng.normal(0, 0.02, n))  # slow drift, like load moving between hosts
    wander -= np.linspace(0, wander[-1], n)
    noise = rng.normal(0, 1, n)
    if spec.log:
        value = spec.level * np.exp(spec.swing * cycle + spec.noise * noise + 0.1 * wander)
    else:
        value = spec.level + spec.swing * cycle + spec.noise * noise + spec.swing * 0.2 * wander
    spikes = rng.random(n) < 0.002
    value[spikes] *= rng.uniform(1.5, 3, spikes.sum())
    value = np.round(np.clip(value, spec.low, spec.high), spec.decimals)
    if spec.counter:
        value = np.cumsum(value)
    keep = np.ones(n, dtype=bool)
    for _ in range(rng.poisson(3 * days / 30)):  # outages: 5 minutes to 6 hours without points
        down = int(rng.integers(0, n))
        keep[down:down + int(rng.integers(5, 360))] = False
    keep &= rng.random(n) > 0.001  # the odd lost report
    offset = int(rng.integers(0, 60)) * 1000  # each agent reports at its own second of the minute
    ts = start_ms + offset + minutes.astype(np.int64) * MINUTE
    return Series(spec, host, ts[keep], value[keep])


def make_dataset(hosts: int = 50, days: int = 30, metrics: tuple[MetricSpec, ...] = METRICS,
                 end_ms: int = END_MS, seed: int = SEED) -> Dataset:
    """len(metrics) × hosts series over `days` days ending at `end_ms`, from one seeded generator."""
    rng = np.random.default_rng(seed)
    start_ms = end_ms - days * DAY
    series = [make_series(rng, spec, f"host-{h:02d}", start_ms, days) for spec in metrics for h in range(hosts)]
    index = np.concatenate([np.full(len(s.ts), i, dtype=np.int32) for i, s in enumerate(series)])
    ts = np.concatenate([s.ts for s in series])
    value = np.concatenate([s.value for s in series])
    order = np.lexsort((index, ts))
    return Dataset(series, start_ms, end_ms, index[order], ts[order], value[order])


def joined(first: Dataset, second: Dataset) -> Dataset:
    """Two data sets as one, its points in time order (for a system that takes samples in time order only)."""
    index = np.concatenate([first.index, second.index + len(first.series)])
    ts, value = np.concatenate([first.ts, second.ts]), np.concatenate([first.value, second.value])
    order = np.lexsort((index, ts))
    return Dataset(first.series + second.series, min(first.start_ms, second.start_ms),
                   max(first.end_ms, second.end_ms), index[order], ts[order], value[order])
