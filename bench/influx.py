"""InfluxDB 1.x (Debian's influxd): line protocol writes, InfluxQL GROUP BY time() charts, raw SELECTs."""
import shutil
from pathlib import Path

import orjson

from bench.base import BenchError, Chart, Daemon, System, disk_bytes, get, package_version, session, settled_size

DATABASE = "bench"
# Reporting and self-monitoring off; cold shards snapshot their cache and compact fully within seconds, so
# the disk is measured on compacted TSM files, as it would be after the defaults' 10 minutes and 4 hours.
CONFIG = """reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{dir}/meta"
  logging-enabled = false

[data]
  dir = "{dir}/data"
  wal-dir = "{dir}/wal"
  query-log-enabled = false
  cache-snapshot-write-cold-duration = "2s"
  compact-full-write-cold-duration = "10s"
  # no cardinality caps: the cardinality curve writes 200,000 values of one tag (the default refuses past 100,000)
  max-values-per-tag = 0
  max-series-per-database = 0

[monitor]
  store-enabled = false

[continuous_queries]
  enabled = false

[subscriber]
  enabled = false

[http]
  bind-address = "127.0.0.1:{port}"
  log-enabled = false
  pprof-enabled = false

[logging]
  level = "warn"
  suppress-logo = true
"""


class Influx(System):
    """One influxd with its own config, data folder and loopback ports."""

    name = "influxdb"
    binary = "influxd"
    write_headers = {"Content-Type": "text/plain; charset=utf-8"}

    def __init__(self, folder: Path, base_port: int):
        self.dir = folder
        self.port = base_port + 86
        self.url = f"http://127.0.0.1:{self.port}"
        self.daemon = Daemon("influxd", ["influxd", "run", "-config", str(folder / "influxdb.conf")], folder)

    def version(self) -> str:
        return f"InfluxDB {package_version('influxdb')} (Debian), inmem index"

    def start(self) -> None:
        self.daemon.stop()  # one an interrupted run left behind
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        (self.dir / "influxdb.conf").write_text(CONFIG.format(dir=self.dir, port=self.port, rpc_port=self.port + 2))
        self.daemon.start(f"{self.url}/ping")

    def stop(self) -> None:
        self.daemon.stop()

    def query(self, text: str) -> dict:
        """An InfluxQL statement's answer, times as epoch ms; an error in the answer raises."""
        answer = orjson.loads(get(f"{self.url}/query", {"db": DATABASE, "epoch": "ms", "q": text}).content)
        error = answer.get("error") or next((r["error"] for r in answer.get("results", []) if "error" in r), None)
        if error:
            raise BenchError(f"InfluxQL {text[:80]!r}: {error}")
        return answer

    def prepare(self, dataset) -> None:
        check_post = session().post(f"{self.url}/query", params={"q": f"CREATE DATABASE {DATABASE}"}, timeout=30)
        if check_post.status_code != 200:
            raise BenchError(f"CREATE DATABASE: HTTP {check_post.status_code}: {check_post.text[:200]}")

    def encode(self, dataset, index, ts, value) -> bytes:
        prefixes = [f"{series.metric.name},host={series.host} value=" for series in dataset.series]
        return "\n".join(f"{prefixes[i]}{v!r} {t}" for i, t, v in
                         zip(index.tolist(), ts.tolist(), value.tolist())).encode()

    def write_url(self) -> str:
        return f"{self.url}/write?db={DATABASE}&precision=ms"

    def remote_write_url(self) -> str:
        """1.x's Prometheus endpoint (removed in 2.x)."""
        return f"{self.url}/api/v1/prom/write?db={DATABASE}"

    def chart(self, query: Chart):
        hosts = " OR ".join(f"\"host\" = '{host}'" for host in query.hosts)
        text = (f'SELECT mean(value), min(value), max(value), first(value), last(value) FROM "{query.metric}" '
                f"WHERE ({hosts}) AND time >= {query.start_ms}ms AND time < {query.end_ms}ms "
                f'GROUP BY time({query.step_ms}ms), "host"')
        return get(f"{self.url}/query", {"db": DATABASE, "epoch": "ms", "q": text})

    def chart_values(self, response) -> list[int]:
        series = orjson.loads(response.content)["results"][0].get("series", [])
        return [sum(1 for row in item["values"] for value in row[1:] if value is not None) for item in series]

    def raw(self, metric: str, host: str, start_ms: int, end_ms: int) -> int:
        answer = self.query(f"SELECT value FROM \"{metric}\" WHERE \"host\" = '{host}' "
                            f"AND time >= {start_ms}ms AND time < {end_ms}ms")
        return sum(len(item["values"]) for item in answer["results"][0].get("series", []))

    def disk(self) -> int:
        """TSM files and WAL once the cold shards are snapshotted and fully compacted."""
        return settled_size(lambda: disk_bytes(self.dir / "data", self.dir / "wal"), timeout=300,
                            interval=self.settle[0], quiet=self.settle[1])
