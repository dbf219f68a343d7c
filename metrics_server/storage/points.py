"""Raw points in Cassandra: idempotent partition-grouped writes and concurrent range reads into numpy arrays."""
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import repeat

import numpy as np
from cassandra.concurrent import execute_concurrent
from cassandra.query import UNSET_VALUE, BatchStatement, BatchType, BoundStatement, PreparedStatement

from metrics_server.db import RAW_PROFILE, Database, one_line
from metrics_server.errors import StorageUnavailable
from metrics_server.storage.registry import Metric, Registry

ROWS_PER_BATCH = 100
CONCURRENCY = 64
INSERT = ("INSERT INTO {ks}.points (metric, series_id, bucket, ts, value, state, buckets)"
          " VALUES (?, ?, ?, ?, ?, ?, ?) USING TTL ?")
SELECT = ("SELECT toUnixTimestamp(ts), {columns} FROM {{ks}}.points"
          " WHERE metric = ? AND series_id = ? AND bucket = ? AND ts >= ? AND ts < ?")


@dataclass
class Points:
    """Validated points of one metric as columns: each point's series (an index into `series`), epoch ms UTC,
    value (NaN: none), and state and buckets when its type has them."""

    series: list[str]
    series_index: np.ndarray
    ts: np.ndarray
    value: np.ndarray
    state: list | None = None
    buckets: list | None = None

    def __len__(self) -> int:
        return len(self.ts)


@dataclass
class SeriesPoints:
    """One series' points in a range, as aligned arrays sorted by time."""

    ts: np.ndarray
    value: np.ndarray
    state: list | None = None
    buckets: list | None = None

    def __len__(self) -> int:
        return len(self.ts)


def stored_order(points: Points) -> np.ndarray:
    """Positions of the points to store, by series then time: a time repeated within a series keeps its last
    point (in one batch, Cassandra would otherwise keep the greater value)."""
    order = np.lexsort((points.ts, points.series_index))  # stable: repeats stay in request order
    series, ts = points.series_index[order], points.ts[order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = (series[1:] != series[:-1]) | (ts[1:] != ts[:-1])
    return order[last]


def big_endian(values: np.ndarray, dtype: str) -> list[bytes]:
    """Each value as the 8 bytes Cassandra stores (bigint and timestamp: '>i8', double: '>f8'), all at once."""
    raw = values.astype(dtype).tobytes()
    return [raw[start:start + 8] for start in range(0, len(raw), 8)]


def doubles(values: np.ndarray) -> list:
    """Values as serialized doubles; NaN (no value) is 'not set', since binding a null writes a tombstone."""
    cells = big_endian(values, ">f8")
    for position in np.flatnonzero(np.isnan(values)).tolist():
        cells[position] = UNSET_VALUE
    return cells


def serialized_rows(insert: PreparedStatement, metric: Metric, points: Points) -> tuple[list, list[int], list[tuple]]:
    """The rows to store, serialized as `insert` binds them (metric, series, bucket, ts, value, state, buckets,
    ttl) and grouped by partition: the partitions (series id, bucket start), where each one's rows start (and
    the last one's end), and the rows."""
    order = stored_order(points)
    series, ts = points.series_index[order], points.ts[order]
    bucket = ts - ts % metric.partition_ms
    edges = [0, *(np.flatnonzero((series[1:] != series[:-1]) | (bucket[1:] != bucket[:-1])) + 1).tolist(), len(order)]
    partitions = [(points.series[series[start]], int(bucket[start])) for start in edges[:-1]]
    serializers = [column.type.serialize for column in insert.column_metadata]

    def cell(position: int, value):
        return serializers[position](value, insert.protocol_version)

    def per_row(cells: list) -> np.ndarray:
        return np.repeat(np.array(cells, dtype=object), np.diff(edges))

    def optional(position: int, values: list | None):
        """State or buckets: absent values 'not set'."""
        if values is None:
            return repeat(UNSET_VALUE)
        return [UNSET_VALUE if values[i] is None else cell(position, values[i]) for i in order.tolist()]

    rows = zip(repeat(cell(0, metric.name)), per_row([cell(1, sid) for sid, _ in partitions]),
               per_row([cell(2, moment(start)) for _, start in partitions]), big_endian(ts, ">i8"),
               doubles(points.value[order]), optional(5, points.state), optional(6, points.buckets),
               repeat(cell(7, metric.ttl_seconds)))
    return partitions, edges, list(rows)


def unlogged_batch(insert: PreparedStatement, rows: list[tuple]) -> BatchStatement:
    """One single-partition unlogged batch of serialized rows. The driver's bind would serialize each value
    again in Python (most of an ingest request's time). `add` keeps the values a bound statement holds when
    added, so one bound statement carries every row in turn; it routes the batch by its first row's partition."""
    batch = BatchStatement(batch_type=BatchType.UNLOGGED)
    bound = BoundStatement(insert)
    for values in rows:
        bound.values = values
        batch.add(bound)
    return batch


def moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, timezone.utc)


class PointStore:
    """Writes and reads raw points; the only module that touches the points table."""

    def __init__(self, db: Database, registry: Registry):
        self.db = db
        self.registry = registry

    def write(self, batches: list[tuple[Metric, dict[str, dict[str, str]], Points]]) -> list[tuple]:
        """Store points of several metrics at once: index first, then single-partition unlogged batches sent
        concurrently. All or an error: a partial failure raises, saying how much was stored (a retry is safe,
        since a point is keyed by series and timestamp). Returns the (metric, series, bucket) partitions touched."""
        insert = self.db.prepare(INSERT)
        statements = []
        touched = []
        for metric, labels_by_series, points in batches:
            partitions, edges, rows = serialized_rows(insert, metric, points)
            self.registry.index(metric, labels_by_series, set(partitions))
            statements += [(unlogged_batch(insert, rows[first:min(first + ROWS_PER_BATCH, stop)]), None)
                           for start, stop in zip(edges, edges[1:]) for first in range(start, stop, ROWS_PER_BATCH)]
            touched += [(metric, sid, bucket) for sid, bucket in partitions]
        results = execute_concurrent(self.db.session, statements, concurrency=CONCURRENCY, raise_on_first_error=False)
        failures = [result for ok, result in results if not ok]
        if failures:
            stored = (len(statements) - len(failures)) * 100 // max(len(statements), 1)
            raise StorageUnavailable(
                f"Cassandra did not acknowledge {len(failures)} of {len(statements)} write batches "
                f"(about {stored}% stored); the request can be retried safely: {one_line(failures[0])}")
        return touched

    def read(self, metric: Metric, series_ids: list[str], start_ms: int, end_ms: int,
             extra: tuple[str, ...] = (), buckets: dict[str, list[int]] | None = None) -> dict[str, SeriesPoints]:
        """Points of each series in [start, end), read partition by partition, concurrently (the partitions
        come from the index unless the caller knows them)."""
        columns = ", ".join(("value", *extra))
        select = self.db.prepare(SELECT.format(columns=columns))
        if buckets is None:
            buckets = self.registry.buckets(metric, series_ids, start_ms, end_ms)
        plan = [(sid, bucket) for sid in series_ids for bucket in buckets[sid]]
        statements = [(select, (metric.name, sid, moment(bucket), moment(max(start_ms, bucket)),
                                moment(min(end_ms, bucket + metric.partition_ms)))) for sid, bucket in plan]
        try:
            results = execute_concurrent(self.db.session, statements, concurrency=CONCURRENCY,
                                         raise_on_first_error=True, results_generator=False,
                                         execution_profile=RAW_PROFILE)
        except Exception as error:
            raise StorageUnavailable(f"Cassandra read failed: {one_line(error)}") from None
        rows_by_series: dict[str, list] = {sid: [] for sid in series_ids}
        for (sid, _), (_, rows) in zip(plan, results):
            rows_by_series[sid].extend(rows)
        return {sid: to_arrays(rows, extra) for sid, rows in rows_by_series.items()}


def to_arrays(rows: list[tuple], extra: tuple[str, ...]) -> SeriesPoints:
    """Rows (ts, value, *extra) to numpy arrays; partitions arrive in bucket order, rows in time order."""
    ts = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    value = np.fromiter((np.nan if row[1] is None else row[1] for row in rows), dtype=np.float64, count=len(rows))
    order = np.argsort(ts, kind="stable")
    columns = {name: [rows[i][2 + position] for i in order] for position, name in enumerate(extra)}
    return SeriesPoints(ts=ts[order], value=value[order], **columns)
