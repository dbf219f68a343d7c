"""VictoriaMetrics single-node (Debian's victoria-metrics): Prometheus text import, query_range, export."""
import shutil
from datetime import UTC, datetime
from pathlib import Path

import orjson

from bench.base import Chart, Daemon, System, disk_bytes, get, package_version, session, settled_size
from bench.dataset import DAY

# MetricsQL computes every rollup of a chart in one pass over the samples; each comes back as its own series.
ROLLUPS = ("avg_over_time", "min_over_time", "max_over_time", "first_over_time", "last_over_time")


class Victoria(System):
    """One victoria-metrics with its own -storageDataPath, on a loopback port, its response cache off."""

    name = "victoria"
    binary = "victoria-metrics"
    write_headers = {"Content-Type": "text/plain"}

    def __init__(self, folder: Path, base_port: int):
        self.dir = folder
        self.port = base_port + 428
        self.url = f"http://127.0.0.1:{self.port}"
        self.daemon = Daemon("victoria-metrics", [
            "victoria-metrics", f"-storageDataPath={folder / 'data'}", f"-httpListenAddr=127.0.0.1:{self.port}",
            "-retentionPeriod=100y", "-search.disableCache", "-loggerLevel=WARN",
        ], folder)

    def version(self) -> str:
        return f"VictoriaMetrics {package_version('victoria-metrics')} (Debian), single node"

    def start(self) -> None:
        self.daemon.stop()  # one an interrupted run left behind
        shutil.rmtree(self.dir, ignore_errors=True)
        self.daemon.start(f"{self.url}/health")

    def stop(self) -> None:
        self.daemon.stop()

    def encode(self, dataset, index, ts, value) -> bytes:
        prefixes = [f'{series.metric.name}{{host="{series.host}"}} ' for series in dataset.series]
        return "\n".join(f"{prefixes[i]}{v!r} {t}" for i, t, v in
                         zip(index.tolist(), ts.tolist(), value.tolist())).encode()

    def write_url(self) -> str:
        return f"{self.url}/api/v1/import/prometheus"

    def remote_write_url(self) -> str:
        return f"{self.url}/api/v1/write"

    def chart(self, query: Chart):
        """Samples at each bin's end look back one step, so sample i covers our bin i."""
        step = query.step_ms // 1000
        selector = f'{query.metric}{{host=~"{"|".join(query.hosts)}"}}[{step}s]'
        functions = ",".join(f'"{name}"' for name in ROLLUPS)
        return get(f"{self.url}/api/v1/query_range", {
            "query": f"aggr_over_time(({functions}), {selector})", "start": (query.start_ms + query.step_ms) / 1000,
            "end": query.end_ms / 1000, "step": f"{step}s", "nocache": "1"})

    def chart_values(self, response) -> list[int]:
        per_host: dict[str, int] = {}
        for item in orjson.loads(response.content)["data"]["result"]:
            host = item["metric"].get("host", "")
            per_host[host] = per_host.get(host, 0) + sum(1 for _, value in item["values"] if value != "NaN")
        return list(per_host.values())

    def raw(self, metric: str, host: str, start_ms: int, end_ms: int) -> int:
        response = get(f"{self.url}/api/v1/export", {"match[]": f'{metric}{{host="{host}"}}',
                                                     "start": start_ms / 1000, "end": (end_ms - 1) / 1000})
        return sum(len(orjson.loads(line)["values"]) for line in response.content.splitlines() if line.strip())

    def disk(self) -> int:
        """Flush buffered samples, merge every month's partition, then data + index once the size settles."""
        session().get(f"{self.url}/internal/force_flush", timeout=60)
        for month in sorted({datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y_%m")
                             for ms in range(self.first_ms, self.last_ms + DAY, DAY)}):
            session().get(f"{self.url}/internal/force_merge", params={"partition_prefix": month}, timeout=600)
        data = self.dir / "data"
        return settled_size(lambda: disk_bytes(data / "data", data / "indexdb"), timeout=300,
                            interval=self.settle[0], quiet=self.settle[1])

    def prepare(self, dataset) -> None:
        self.first_ms, self.last_ms = dataset.start_ms, dataset.end_ms - 1
