"""The remote_write round: one Prometheus remote_write stream, built once from the data set with the real protobuf
messages and snappy-compressed once, POSTed byte for byte to us (`/api/v1/write` through nginx), to
VictoriaMetrics (`/api/v1/write`) and to InfluxDB 1.6 (`/api/v1/prom/write`), the systems taking turns.

Two shapes, as Prometheus sends them: `scrape` is what a server scraping every target once a minute sends, a
request per scrape with one sample of every series; `backlog` is what it sends catching up after an outage (or
scraping every few seconds), 10 samples of every series per request (2,000 samples: max_samples_per_send).
The series are the data set's own under other names (`rw_<metric>{host, job="bench"}`), so this round never
rewrites the points the other rounds read."""
import numpy as np

from bench.base import post_all, say
from metrics_server.protocols import remote_write

HEADERS = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
           "X-Prometheus-Remote-Write-Version": "0.1.0"}
SHAPES = {"scrape": 1, "backlog": 10}  # minutes (samples per series) per request
MINUTES = {"full": 6 * 60, "quick": 120}  # of the data set's start, for each shape
SLICES = 3
MINUTE = 60_000


def stream(dataset, minutes: int, per_request: int) -> tuple[list[bytes], int]:
    """(request bodies, samples): the first `minutes` of the data set, `per_request` minutes of every series in
    each request, each series' samples in time order, labels sorted as Prometheus sends them."""
    first = dataset.start_ms
    end = np.searchsorted(dataset.ts, first + minutes * MINUTE)
    index, ts, value = dataset.index[:end], dataset.ts[:end], dataset.value[:end]
    request_of = (ts - first) // (per_request * MINUTE)
    cuts = np.flatnonzero(np.diff(request_of)) + 1
    labels = [{"__name__": f"rw_{series.metric.name}", "host": series.host, "job": "bench"}
              for series in dataset.series]
    bodies = []
    for part in np.split(np.arange(end), cuts):
        order = part[np.argsort(index[part], kind="stable")]
        series_cuts = np.flatnonzero(np.diff(index[order])) + 1
        bodies.append(remote_write.encode(
            [(labels[int(index[group[0]])], list(zip(ts[group].tolist(), value[group].tolist())))
             for group in np.split(order, series_cuts)]))
    return bodies, int(end)


def measure(systems, dataset, mode: str, clients: int, results: dict) -> None:
    """Samples per second for each shape and system, the stream sent in SLICES slices with the systems taking
    turns (each slice's background work waited for, uncounted), as the main load is."""
    for shape, per_request in SHAPES.items():
        bodies, samples = stream(dataset, MINUTES[mode], per_request)
        say(f"remote_write {shape}: {samples:,} samples in {len(bodies)} requests "
            f"({sum(map(len, bodies)) / 2 ** 20:.1f} MiB snappy), {clients} clients")
        seconds = dict.fromkeys((system.name for system in systems), 0.0)
        for position in range(SLICES):
            part = bodies[len(bodies) * position // SLICES:len(bodies) * (position + 1) // SLICES]
            for system in systems[position % len(systems):] + systems[:position % len(systems)]:
                took, _ = post_all(system.remote_write_url(), part, clients, HEADERS)
                seconds[system.name] += took
                system.catch_up()
        rates = {name: samples / took for name, took in seconds.items()}
        say(f"remote_write {shape}: " + ", ".join(f"{name} {rate:,.0f} samples/s" for name, rate in rates.items()))
        results[f"{shape} ({per_request} sample{'s' * (per_request > 1)} per series per request)"] = rates
