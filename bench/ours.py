"""metrics_server itself: Cassandra, instances (as many as `make up` starts unless asked) and nginx from tools.stack,
in the benchmark's folder and ports."""
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import orjson
from cassandra.cluster import Cluster

from bench.base import BenchError, Chart, System, check, disk_bytes, get, session, settled_size
from metrics_server.storage.rollups import SHARDS as MARK_SHARDS
from tools import stack as stacks
from tools.cassandra import node as cassandra

KEYSPACE = "metrics_bench"


class Ours(System):
    """Writes go to POST /api/write, charts to GET /api/query, raw reads to GET /api/metrics/<name>/data."""

    name = "ours"
    write_headers = {"Content-Type": "application/json"}

    def __init__(self, folder: Path, base_port: int, instances: int = stacks.DEFAULT_INSTANCES):
        self.stack = stacks.Stack(
            var=folder, port=base_port + 80, instances=instances, cql_port=base_port + 1042,
            storage_port=base_port - 1000, jmx_port=base_port - 801, keyspace=KEYSPACE, cluster_name="metrics_bench",
            fast_start=True,
            # auth off: InfluxDB and VictoriaMetrics run without it too, on the same loopback-only machine
            env={"METRICS_SERVER_LOG_LEVEL": "WARNING", "METRICS_SERVER_AUTH": "false"})
        self.url = self.stack.url

    def version(self) -> str:
        commit = os.environ.get("BENCH_REVISION") or subprocess.run(  # set when run from a `git archive` export
            ["git", "rev-parse", "--short", "HEAD"], cwd=stacks.ROOT, capture_output=True, text=True).stdout.strip()
        return (f"metrics_server {commit or '?'} ({self.stack.instances} waitress instances, nginx), "
                f"Cassandra {cassandra.CASSANDRA_VERSION}")

    def start(self) -> None:
        """Stop what an interrupted run left in the folder, empty it, then bring the stack up."""
        self.stop()
        shutil.rmtree(self.stack.var, ignore_errors=True)
        try:
            stacks.up(self.stack)
        except (RuntimeError, cassandra.NodeError) as error:
            raise BenchError(f"our stack did not start: {error}") from None

    def stop(self) -> None:
        stacks.down(self.stack)

    def prepare(self, dataset) -> None:
        """Define each metric with its unit (a 409 means an earlier run did)."""
        for spec in {series.metric for series in dataset.series}:
            response = session().post(f"{self.url}/api/metrics", timeout=30, json={
                "name": spec.name, "type": "gauge", "label_keys": ["host"], "unit": spec.unit,
                "description": spec.description})
            if response.status_code != 409:
                check(response, f"create metric {spec.name}")

    def encode(self, dataset, index, ts, value) -> bytes:
        """One series item per series in the batch (its times and values as lists), as agents that buffer send
        them and as VictoriaMetrics' JSON import has it."""
        order = np.argsort(index, kind="stable")
        cuts = np.flatnonzero(np.diff(index[order])) + 1
        return orjson.dumps([{"name": dataset.series[int(index[part[0]])].metric.name,
                              "labels": dataset.series[int(index[part[0]])].labels,
                              "timestamps": ts[part].tolist(), "values": value[part].tolist()}
                             for part in np.split(order, cuts)])

    def write_url(self) -> str:
        return f"{self.url}/api/write"

    def remote_write_url(self) -> str:
        return f"{self.url}/api/v1/write"

    def chart(self, query: Chart):
        hosts = ",".join(f'host="{host}"' for host in query.hosts)
        return get(f"{self.url}/api/query", {"metric": f"{query.metric}{{{hosts}}}", "start": query.start_ms,
                                             "end": query.end_ms, "width": query.width})

    def chart_values(self, response) -> list[int]:
        return [sum(1 for _, value in series["points"] if value is not None)
                + sum(1 for key in ("min", "max", "first", "last") for value in series[key] if value is not None)
                for series in orjson.loads(response.content)["series"]]

    def step_ms(self, response) -> int:
        """The bin width our API chose for the chart, which the peers then use."""
        return int(orjson.loads(response.content)["step"])

    def raw(self, metric: str, host: str, start_ms: int, end_ms: int) -> int:
        params = {"host": host, "start_time": start_ms, "end_time": end_ms, "limit": 100_000}
        count = 0
        for _ in range(1000):  # bounded: 100 M points at most
            response = get(f"{self.url}/api/metrics/{metric}/data", params)
            count += len(orjson.loads(response.content))
            cursor = response.headers.get("X-Next-Cursor")
            if not cursor:
                return count
            params["cursor"] = cursor
        raise BenchError("raw read: more than 1000 pages")

    def catch_up(self, timeout: float = 3600) -> float:
        """Seconds until the instances' rollup workers have recomputed every partition the load marked (0 when
        this version has no rollups): only then do charts read hourly rows and does the disk hold them."""
        node = self.stack.cassandra_nodes()[0]
        cluster = Cluster([node.address], port=node.cql_port, protocol_version=5, connect_timeout=60,
                          control_connection_timeout=60)
        start = time.monotonic()
        try:
            session = cluster.connect()
            if "dirty" not in cluster.metadata.keyspaces[KEYSPACE].tables:
                return 0.0
            count = session.prepare(f"SELECT count(*) FROM {KEYSPACE}.dirty WHERE shard = ?")
            while any(session.execute(count, (shard,), timeout=60).one()[0] for shard in range(MARK_SHARDS)):
                # a shard at a time: the marks a load of 200,000 series leaves, once cleared, are more tombstones
                # than a scan of the whole table may read
                if time.monotonic() - start > timeout:
                    raise BenchError(f"rollups still pending after {timeout:.0f} s")
                time.sleep(1)
            return time.monotonic() - start
        finally:
            cluster.shutdown()

    def disk(self) -> int:
        """Flush memtables and compact through nodetool (JMX on loopback), then the keyspace folder's size."""
        node = self.stack.cassandra_nodes()[0]
        for command in ("flush", "compact"):
            try:
                cassandra.nodetool(node, command, KEYSPACE)
            except cassandra.NodeError as error:
                raise BenchError(str(error)) from None
        folder = node.dir / "data" / KEYSPACE
        return settled_size(lambda: disk_bytes(folder), timeout=120, interval=self.settle[0], quiet=self.settle[1])

