"""The PromQL round: the same query_range requests, as Grafana sends them, to our /api/v1/query_range (through
nginx), to VictoriaMetrics' and to a real Prometheus' (Debian's 2.42, given the same data set through its
remote-write receiver), the systems taking turns; p50 per query and system. Ours and Prometheus' answers are
checked to have the same series and points (the exact values are tests/protocols/test_promql_reference.py's job).
Besides the data set, a fleet of 200 series of one counter (`requests_total{host}`, its last day) is given to
every system by remote write, for topk, quantile_over_time and rate over 200 series. The 1-minute load average
is kept with each figure: the machine is shared, and ratios within one run are what compare.
"""
import os
import shutil
from pathlib import Path

import numpy as np
import orjson

from bench.base import BenchError, Daemon, get, package_version, percentile, post_all, say, timed
from bench.dataset import DAY, FLEET, joined, make_dataset
from metrics_server.protocols import remote_write

HOUR = 3_600_000
FLEET_HOSTS = 200
PER_REQUEST = 2_000  # samples per remote-write request, Prometheus' max_samples_per_send
HEADERS = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
           "X-Prometheus-Remote-Write-Version": "0.1.0"}


def queries(dataset, days: int) -> list[tuple[str, str, int, int]]:
    """(label, PromQL, span in ms, step in s): a panel of one host, of four, and of every host over the data set,
    then three over the fleet's 200 series."""
    hosts = sorted({series.host for series in dataset.series})
    four = "|".join(hosts[:4])
    return [
        ("1 series, 24 h, step 1 m", f'cpu_usage{{host="{hosts[0]}"}}', DAY, 60),
        ("4 series, 24 h, max_over_time 5 m, step 5 m", f'max_over_time(request_latency{{host=~"{four}"}}[5m])',
         DAY, 300),
        (f"all hosts, {days} d, avg by host of avg_over_time 1 h, step 1 h",
         "avg by (host) (avg_over_time(temperature[1h]))", days * DAY, 3600),
        ("all hosts summed, 24 h, step 5 m", "sum(net_throughput)", DAY, 300),
        (f"topk 5 of rate over {FLEET_HOSTS} series, 24 h, step 5 m", "topk(5, rate(requests_total[5m]))", DAY, 300),
        (f"quantile_over_time 0.9 1 h of {FLEET_HOSTS} series, 24 h, step 5 m",
         "quantile_over_time(0.9, requests_total[1h])", DAY, 300),
        (f"rate of {FLEET_HOSTS} series, 24 h, step 5 m", "rate(requests_total[5m])", DAY, 300),
    ]


def fleet_of(dataset):
    """FLEET_HOSTS series of one counter over the data set's last day (seeded: the same every run)."""
    return make_dataset(hosts=FLEET_HOSTS, days=1, metrics=FLEET, end_ms=dataset.end_ms, seed=7)


class Prometheus:
    """Debian's Prometheus with no scrape jobs, its remote-write receiver on, in its own folder and port."""

    name = "prometheus"

    def __init__(self, folder: Path, base_port: int):
        self.dir = folder
        self.url = f"http://127.0.0.1:{base_port + 90}"
        self.daemon = Daemon("prometheus", [
            "prometheus", f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{base_port + 90}", "--web.enable-remote-write-receiver",
            "--storage.tsdb.retention.time=100y", "--log.level=warn"], folder)

    def version(self) -> str:
        return f"Prometheus {package_version('prometheus')} (Debian)"

    def start(self) -> None:
        self.daemon.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        (self.dir / "prometheus.yml").write_text("scrape_configs: []\n")
        self.daemon.start(f"{self.url}/-/ready")

    def stop(self) -> None:
        self.daemon.stop()

    def load(self, dataset) -> float:
        """The data set as remote-write requests in time order, one at a time: its head takes no sample more
        than an hour older than the newest (400 "out of bounds"); returns seconds."""
        seconds, _ = post_all(f"{self.url}/api/v1/write", remote_write_bodies(dataset), 1, HEADERS)
        return seconds


def remote_write_bodies(dataset) -> list[bytes]:
    """The data set as remote-write requests of PER_REQUEST samples in time order, as Prometheus sends them."""
    labels = [{"__name__": series.metric.name, **series.labels} for series in dataset.series]
    bodies = []
    for start in range(0, len(dataset), PER_REQUEST):
        index = dataset.index[start:start + PER_REQUEST]
        order = np.argsort(index, kind="stable")
        cuts = np.flatnonzero(np.diff(index[order])) + 1
        ts, value = dataset.ts[start:start + PER_REQUEST], dataset.value[start:start + PER_REQUEST]
        bodies.append(remote_write.encode([(labels[int(index[part[0]])],
                                            list(zip(ts[part].tolist(), value[part].tolist())))
                                           for part in np.split(order, cuts)]))
    return bodies


def query_range(url: str, expr: str, start_ms: int, end_ms: int, step_s: int, **extra) -> list:
    response = get(f"{url}/api/v1/query_range", {"query": expr, "start": start_ms / 1000, "end": end_ms / 1000,
                                                 "step": step_s, **extra})
    return orjson.loads(response.content)["data"]["result"]


def shape(result: list) -> list[tuple]:
    return sorted((tuple(sorted(item["metric"].items())), len(item["values"])) for item in result)


def measure(ours, victoria, dataset, args) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """({query label: {system: p50 ms}} over args.chart_rounds rounds after a warm-up (the answers checked),
    {query label: mean 1-minute load average while it was measured})."""
    prometheus = Prometheus(args.out / "prometheus", args.base_port)
    fleet = fleet_of(dataset)
    say("starting prometheus and giving it the data set and the fleet by remote write")
    prometheus.start()
    try:
        say(f"prometheus: {len(dataset) + len(fleet):,} samples in {prometheus.load(joined(dataset, fleet)):.0f} s")
        for system in (ours, victoria) if victoria is not None else (ours,):
            seconds, _ = post_all(system.remote_write_url(), remote_write_bodies(fleet), args.clients, HEADERS)
            system.catch_up()
            say(f"{system.name}: the fleet's {len(fleet):,} samples in {seconds:.0f} s")
        targets = {"ours": (ours.url, {}), "prometheus": (prometheus.url, {})}
        if victoria is not None:
            targets["victoria"] = (victoria.url, {"nocache": "1"})
        end = dataset.end_ms - dataset.end_ms % HOUR
        plans = [(label, expr, end - span, end, step) for label, expr, span, step in queries(dataset, args.days)]
        for _, expr, start, stop, step in plans:
            answers = {name: query_range(url, expr, start, stop, step, **extra)
                       for name, (url, extra) in targets.items()}
            if shape(answers["ours"]) != shape(answers["prometheus"]) or not answers["ours"]:
                raise BenchError(f"PromQL {expr}: our series and points differ from Prometheus'")
        times: dict[str, dict[str, list[float]]] = {label: {} for label, *_ in plans}
        loads: dict[str, list[float]] = {label: [] for label, *_ in plans}
        names = list(targets)
        for position in range(args.chart_rounds):
            for label, expr, start, stop, step in plans:
                loads[label].append(os.getloadavg()[0])
                for name in names[position % len(names):] + names[:position % len(names)]:
                    url, extra = targets[name]
                    seconds, _ = timed(query_range, url, expr, start, stop, step, **extra)
                    times[label].setdefault(name, []).append(seconds)
        return ({label: {name: percentile(samples, 50) * 1000 for name, samples in by_system.items()}
                 for label, by_system in times.items()},
                {label: float(np.mean(samples)) for label, samples in loads.items()})
    finally:
        say("stopping prometheus")
        prometheus.stop()
