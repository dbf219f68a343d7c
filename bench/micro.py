"""Measured alternatives for our slow paths, each timed against the code path it would replace:
`python -m bench.micro [--out bench/out/full] [--base-port 38000]`.

1. validating one 5000-point /api/write body: marshmallow's WriteItemSchema (today) vs a plain loop, same checks;
2. binding 5000 rows into the points INSERT's batches: timestamps as datetimes (today) vs epoch-ms ints;
3. reading 4 series × 30 days of raw points: Cassandra and the driver's row decoding vs our to_arrays.
2 and 3 use the Cassandra node a full `bench.run` left in OUT (started here if it is stopped, stopped after).
"""
import argparse
import math
import re
import statistics
import sys
import time
from pathlib import Path

import orjson
from cassandra.cluster import Cluster
from cassandra.concurrent import execute_concurrent
from cassandra.query import UNSET_VALUE, BatchStatement, BatchType, tuple_factory

from bench.dataset import make_dataset
from bench.ours import KEYSPACE, Ours
from metrics_server.query.timeparse import parse_instant
from metrics_server.schemas import LABEL_KEY_PATTERN, NAME_PATTERN, WriteItemSchema
from metrics_server.storage.points import INSERT, SELECT, moment, to_arrays
from metrics_server.storage.registry import series_id
from tools.cassandra import node as cassandra

HERE = Path(__file__).resolve().parent
NAME, KEY = re.compile(NAME_PATTERN), re.compile(LABEL_KEY_PATTERN)
FIELDS = {"name", "labels", "value", "timestamp", "state", "buckets"}


def best(function, repeat: int = 5) -> float:
    """The median of `repeat` timings of one call, in milliseconds."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def plain_load(items: list) -> list[dict]:
    """What WriteItemSchema checks for gauge points, as one loop (state/buckets items would go to marshmallow)."""
    loaded = []
    for index, item in enumerate(items):
        if type(item) is not dict or not item.keys() <= FIELDS:
            raise ValueError(f"{index}: expected an object with {sorted(FIELDS)}")
        name, labels, value = item.get("name"), item.get("labels", {}), item.get("value")
        if type(name) is not str or not NAME.match(name):
            raise ValueError(f"{index}.name: invalid")
        if type(labels) is not dict or not all(type(k) is str and KEY.match(k) and type(v) is str and len(v) <= 512
                                               for k, v in labels.items()):
            raise ValueError(f"{index}.labels: invalid")
        if value is not None and (type(value) not in (int, float) or not math.isfinite(value)):
            raise ValueError(f"{index}.value: expected a finite number")
        stamp = item.get("timestamp")
        loaded.append({"name": name, "labels": labels, "value": None if value is None else float(value),
                       "timestamp": None if stamp is None else parse_instant(stamp, 0),
                       "state": None, "buckets": None})
    return loaded


def validation(body: bytes) -> dict[str, float]:
    items = orjson.loads(body)
    schema = WriteItemSchema(many=True)
    assert plain_load(items) == schema.load(items), "the plain loop must load what marshmallow loads"
    return {"marshmallow WriteItemSchema(many=True).load": best(lambda: schema.load(items)),
            "plain loop, same checks": best(lambda: plain_load(items))}


def binding(session, dataset) -> dict[str, float]:
    insert = session.prepare(INSERT.format(ks=KEYSPACE))
    rows = [(series_id(dataset.series[i].labels), t - t % 86_400_000, t, v)
            for i, t, v in zip(dataset.index[:5000].tolist(), dataset.ts[:5000].tolist(),
                               dataset.value[:5000].tolist())]

    def build(convert) -> None:
        for start in range(0, len(rows), 100):
            batch = BatchStatement(batch_type=BatchType.UNLOGGED)
            for sid, bucket, ts, value in rows[start:start + 100]:
                batch.add(insert, ("cpu_usage", sid, convert(bucket), convert(ts), value, UNSET_VALUE,
                                   UNSET_VALUE, 0))

    return {"bind 5000 rows, timestamps as datetime (moment)": best(lambda: build(moment)),
            "bind 5000 rows, timestamps as epoch-ms int": best(lambda: build(int))}


def reading(cluster, dataset) -> dict[str, float]:
    """The raw read of a 30-day chart split in two: Cassandra + the driver decoding rows into tuples, then
    to_arrays. (The driver's NumpyProtocolHandler, which would decode pages into arrays, answers no rows with
    cassandra-driver 3.30.1 and numpy 2 here, so it is not an option as is.)"""
    session = cluster.connect()
    session.row_factory = tuple_factory
    session.default_timeout = 120  # a node just started, on a busy machine
    select = session.prepare(SELECT.format(columns="value").format(ks=KEYSPACE))
    hosts = [s for s in dataset.series if s.metric.name == "cpu_usage"][:4]
    params = [("cpu_usage", series_id(s.labels), moment(b), moment(b), moment(b + 86_400_000))
              for s in hosts for b in range(dataset.start_ms, dataset.end_ms, 86_400_000)]

    def read() -> list:
        results = execute_concurrent(session, [(select, p) for p in params], concurrency=64,
                                     raise_on_first_error=True, results_generator=False)
        return [row for _, result in results for row in result]

    rows = read()
    assert len(rows) == sum(len(s.ts) for s in hosts), "every point of the 4 series must be read"
    return {f"read {len(rows):,} rows of 4 series × 30 d (Cassandra + driver decoding)": best(read),
            f"to_arrays of those {len(rows):,} rows": best(lambda: to_arrays(rows, ()))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.micro", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "out" / "full")
    parser.add_argument("--base-port", type=int, default=38000)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    dataset = make_dataset()
    ours = Ours(args.out / "stack", args.base_port)
    results = validation(ours.encode(dataset, *next(dataset.batches(5000))))
    node = ours.stack.cassandra_nodes()[0]
    started = cassandra.running_pid(node) is None
    cassandra.start(node)
    cluster = Cluster([node.address], port=node.cql_port, protocol_version=5)
    try:
        results.update(binding(cluster.connect(), dataset))
        results.update(reading(cluster, dataset))
    finally:
        cluster.shutdown()
        if started:
            cassandra.stop(node)
    for name, ms in results.items():
        print(f"{ms:9.1f} ms  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
