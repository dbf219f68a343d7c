"""Raw points in Cassandra: a write stores one intake row per metric and bucket (storage/intake.py), so a
request's Cassandra work does not grow with its series; the rollup worker merges those rows into chunks, each
series' points of each hour as one row of blobs (storage/codec.py), so Cassandra's cost is per chunk, not per
point. A read merges an hour's chunks and the intake rows not merged yet, the later write winning a repeated
time, as a rewritten cell would.

A partition holds one time bucket of a metric's series that share a shard (SHARDS per metric), rows ordered by
hour, then series: one series is a slice of it, and every series of an hour is SHARDS slices. So an aggregate
over 20,000 series of an hour reads 64 partitions, not 20,000 (issue 14), and a partition holds series ÷ 64 of
a bucket's points however many series the metric has (a metric of a million series a minute apart wants
partition_hours of a few hours to keep partitions under ~100 MB)."""
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from cassandra import OperationTimedOut, ReadTimeout, Unavailable
from cassandra.query import UNSET_VALUE, BatchStatement, BatchType, PreparedStatement

from metrics_server.errors import StorageUnavailable
from metrics_server.model import Metric
from metrics_server.storage import chunk_cache, codec, intake
from metrics_server.storage.db import ALL_PROFILE, RAW_PROFILE, Database
from metrics_server.storage.registry import Registry

HOUR_MS = 3_600_000
SHARDS = 64
SERIES_IN = 64  # a partition read names up to this many series (and SLICES series × hours), else reads the
SLICES = 1024  # hours whole and keeps the series it wants
# Partitions read at once when folding across series. The driver's one reading thread slows down past some tens
# of MB of answers in flight: 64 partitions of an hour of 200,000 series read 8 at a time took 2.3 s, 32 at a time
# 30 s (20,000 series: 0.19 s and 0.28 s).
COLUMN_READS = 8
MAX_CHUNK_POINTS = 50_000  # 800 kB of columns: far below Cassandra's largest mutation
COMPACT_AT = 8  # chunks in an hour that make the worker rewrite them as one (fewer cost less to read than rewrite)
BATCH_BYTES = 32 * 1024  # chunks sent together: well under Cassandra's default batch_size_fail_threshold (50 KiB)
# ... and at most this many rows a batch: 190 one-point chunks in a batch made its coordinator time out
# waiting on the replicas of as many partitions (a 10,000-series write on a loaded 2-core machine: 50 of 54 failed).
BATCH_ROWS = 32
ROW_OVERHEAD = 128  # bytes Cassandra counts for a chunk row besides its blobs (keys, cell timestamps, TTLs), at most
NODE = random.getrandbits(48) | 1 << 40  # this process's random timeuuid node (multicast bit set, per RFC 4122)
INSERT = ("INSERT INTO {ks}.sharded_chunks (metric, shard, bucket, hour, series_id, written, ts, value, state,"
          " buckets) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?")
SELECT = ("SELECT series_id, written, ts, value{columns}, toUnixTimestamp(hour) FROM {{ks}}.sharded_chunks"
          " WHERE metric = ? AND shard = ? AND bucket = ? AND {where}")
SOME = "hour IN ? AND series_id IN ?"  # named series of some hours: one slice each
HOURS = "hour >= ? AND hour < ?"  # every series of some hours: one slice
# A compaction deletes the chunks it merged as one range of `written` before the merged chunk's: one range
# tombstone a series and hour, where a row tombstone each was thousands on the read path of fresh data (issue 23:
# "Read 78 live rows and 3232 tombstone cells"). Only chunks written SETTLED_MS ago are merged, so every chunk of
# that range was acknowledged (or given up) long before it was read: none in flight can fall under the tombstone.
EARLIER = ("DELETE FROM {ks}.sharded_chunks WHERE metric = ? AND shard = ? AND bucket = ? AND hour = ?"
           " AND series_id = ? AND written < ?")
SETTLED_MS = 60_000
DROP = "DELETE FROM {ks}.sharded_chunks WHERE metric = ? AND shard = ? AND bucket = ?"


def shard_of(sid: str) -> int:
    """The chunk shard of a series id (a hex hash already, so its first digits spread evenly)."""
    return int(sid[:8], 16) % SHARDS


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


def by_partition(series_ids: list[str], buckets: dict[str, list[int]]) -> dict[tuple[int, int], list[str]]:
    """The series to read from each partition (bucket, shard), in time order."""
    wanted: dict[tuple[int, int], list[str]] = defaultdict(list)
    for sid in series_ids:
        for bucket in buckets[sid]:
            wanted[(bucket, shard_of(sid))].append(sid)
    return dict(sorted(wanted.items()))


def stored_order(points: Points) -> np.ndarray:
    """Positions of the points to store, by series then time: a time repeated within a series in one request
    keeps the request's last point. Points already in that order (series items, each of one series, its times
    rising: what agents send) are not sorted again."""
    series, ts = points.series_index, points.ts
    new_series = series[1:] != series[:-1]
    if np.all(new_series & (series[1:] > series[:-1]) | ~new_series & (ts[1:] >= ts[:-1])):
        order = np.arange(len(ts))
    else:
        order = np.lexsort((ts, series))  # stable: repeats stay in request order
        series, ts = series[order], ts[order]
        new_series = series[1:] != series[:-1]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = new_series | (ts[1:] != ts[:-1])
    return order[last]


def chunk_rows(metric: Metric, points: Points, written: uuid.UUID) -> tuple[set[tuple[str, int]], list[tuple]]:
    """The rows that merged intake rows become, bound as INSERT binds them: one per series and hour (more when an
    hour has over MAX_CHUNK_POINTS), each keyed by `written` (the newest intake row merged; the pieces of an
    hour split in several differ in their node bits); and the (series, bucket) partitions they go to."""
    order = stored_order(points)
    series, ts = points.series_index[order], points.ts[order]
    hour = ts - ts % HOUR_MS
    cuts = np.flatnonzero((series[1:] != series[:-1]) | (hour[1:] != hour[:-1])) + 1
    edges = [0, *cuts.tolist(), len(order)] if len(order) else []
    starts = [first for start, stop in zip(edges, edges[1:]) for first in range(start, stop, MAX_CHUNK_POINTS)]
    sizes = np.diff([*starts, len(order)]).astype(np.int64)
    chunks = [(points.series[series[start]], int(hour[start])) for start in starts]
    piece = [0, *((np.diff([hour[start] for start in starts]) == 0) & (np.diff([series[start] for start in starts])
                                                                       == 0)).tolist()]
    keys, count = [], 0
    for same in piece:
        count = count + 1 if same else 0
        keys.append(uuid.UUID(int=written.int ^ count))
    return {(sid, first_hour - first_hour % metric.partition_ms) for sid, first_hour in chunks}, chunk_rows_of(
        metric, chunks, keys, SeriesPoints(ts, points.value[order], picked(points.state, order),
                                              picked(points.buckets, order)), sizes)


def chunk_rows_of(metric: Metric, chunks: list[tuple[str, int]], written: list[uuid.UUID], points: SeriesPoints,
                  sizes: np.ndarray) -> list[tuple]:
    """Chunks (series, hour), their timeuuids and their points one after the other, as INSERT binds them; states
    or buckets 'not set' when the type has none (a null is a tombstone)."""
    ends = np.cumsum(sizes).tolist()
    spans = list(zip([0, *ends[:-1]], ends))
    extras = [[UNSET_VALUE] * len(chunks) if column is None else
              [codec.encode_cells(column[start:end]) for start, end in spans]
              for column in (points.state, points.buckets)]
    return [(metric.name, shard_of(sid), hour - hour % metric.partition_ms, hour, sid, when, ts_blob, value_blob,
             state, buckets, metric.ttl_seconds)
            for (sid, hour), when, ts_blob, value_blob, state, buckets in zip(
                chunks, written, codec.encode_ts(points.ts, sizes), codec.encode_values(points.value, sizes), *extras)]


def picked(column: list | None, positions: np.ndarray) -> list | None:
    return None if column is None else [column[i] for i in positions.tolist()]


def batched(insert: PreparedStatement, rows: list[tuple]) -> list[BatchStatement]:
    """Chunks in unlogged batches of up to BATCH_BYTES, ordered by partition so that a batch holds few: one
    request and one acknowledgement for many chunks, where a statement each made the driver's per-request work
    the limit of ingest. A batch is not atomic across partitions, and needs not be: a failed write is reported
    whole and a retry rewrites the same points."""
    batches, size = [], BATCH_BYTES
    for row in sorted(rows, key=lambda row: row[:3]):
        row_size = ROW_OVERHEAD + len(row[0]) + len(row[4]) + sum(len(cell) for cell in row[6:10]
                                                                  if isinstance(cell, bytes))
        if size + row_size > BATCH_BYTES or len(batches[-1]) >= BATCH_ROWS:
            batches.append(BatchStatement(batch_type=BatchType.UNLOGGED))
            size = 0
        batches[-1].add(insert, row)
        size += row_size
    return batches


def together(statements: list[tuple]) -> list[tuple]:
    """A write's intake rows as few requests: rows up to BATCH_BYTES of blobs in one unlogged batch (one request
    and one acknowledgement where a statement each cost the driver a round of its own: a scrape-shaped write of 4
    rows took 16–18 → 13 ms in process; a JSON write of 5,000 points, 23.6–24.9 → 25.3–25.6 ms, no gain), a
    larger row alone (Cassandra refuses batches past 50 KiB)."""
    sent, batch, size = [], None, BATCH_BYTES
    for statement, values in statements:
        row_size = ROW_OVERHEAD + sum(len(cell) for cell in values if isinstance(cell, bytes | str))
        if row_size > BATCH_BYTES:
            sent.append((statement, values))
            continue
        if size + row_size > BATCH_BYTES:
            batch, size = BatchStatement(batch_type=BatchType.UNLOGGED), 0
            sent.append((batch, None))
        batch.add(statement, values)
        size += row_size
    return sent


class PointStore:
    """Writes and reads raw points; the only module that touches the points table."""

    def __init__(self, db: Database, registry: Registry, clock: Callable[[], float] = time.time,
                 cache: chunk_cache.ChunkCache | None = None):
        self.db = db
        self.registry = registry
        self.clock = clock  # what compaction takes for now (epoch seconds), to tell settled chunks
        self.cache = NO_CACHE if cache is None else cache

    def write(self, batches: list[tuple[Metric, dict[str, dict[str, str]], Points]]) -> list[tuple]:
        """Store points of several metrics at once: index first, then one intake row per metric and bucket, sent
        `together`. All or an error: a partial failure raises, saying how much was stored (a retry is safe,
        since a repeated point replaces itself), and so does an acknowledgement later than intake.ACK_WITHIN.
        Returns the (metric, intake.INTAKE, bucket) intake partitions touched, for the rollup worker to merge."""
        parts = []
        for metric, labels_by_series, points in batches:
            order = stored_order(points)
            bucket = points.ts[order] - points.ts[order] % metric.partition_ms
            if np.any(bucket != bucket[0]):  # (a request's minutes are mostly of one bucket: nothing to sort)
                by_bucket = np.argsort(bucket, kind="stable")
                order, bucket = order[by_bucket], bucket[by_bucket]  # by bucket, then series, then time
            cuts = np.flatnonzero(bucket[1:] != bucket[:-1]) + 1
            self.registry.index(metric, labels_by_series, set(bucket[[0, *cuts.tolist()]].tolist()))
            parts += [(metric, points, part) for part in np.split(order, cuts)]
        started = time.monotonic()  # before any row's timeuuid
        insert = self.db.prepare(intake.INSERT)
        statements, touched = [], []
        for metric, points, part in parts:
            first = int(points.ts[part[0]] - points.ts[part[0]] % metric.partition_ms)
            for row in intake.encoded(points.series, points.series_index[part], points.ts[part], points.value[part],
                                      picked(points.state, part), picked(points.buckets, part)):
                statements.append((insert, (metric.name, first, uuid.uuid1(NODE), *row, metric.ttl_seconds)))
            touched.append((metric, intake.INTAKE, first))
        self.db.execute_all(together(statements), "Cassandra did not acknowledge every row of points; the request "
                                                  "can be retried safely (a repeated point replaces itself)")
        if time.monotonic() - started > intake.ACK_WITHIN:
            raise StorageUnavailable(f"Cassandra acknowledged the points after more than {intake.ACK_WITHIN:.0f} s, "
                                     "too late to count as stored; the request can be retried safely")
        return touched

    def read(self, metric: Metric, series_ids: list[str], start_ms: int, end_ms: int,
             extra: tuple[str, ...] = (), buckets: dict[str, list[int]] | None = None) -> dict[str, SeriesPoints]:
        """Points of each series in [start, end), read partition by partition, concurrently (the partitions
        come from the index unless the caller knows them)."""
        if buckets is None:
            buckets = self.registry.buckets(metric, series_ids, start_ms, end_ms)
        if not extra:  # numbers: every series' chunks decoded at once, then split (50 series: 230 ms → 40 ms)
            found = next(self.columns(metric, series_ids, buckets, start_ms, end_ms, slice_reads=0), None)
            return split(*(found or flattened([], {}, start_ms, end_ms)), series_ids)
        rows_by_series, fresh = self.fetch(metric, series_ids, buckets, start_ms, end_ms, extra)
        return {sid: merged(rows, extra, start_ms, end_ms, fresh.get(sid, ())) for sid, rows in rows_by_series.items()}

    def read_in_order(self, metric: Metric, series_ids: list[str], start_ms: int, end_ms: int,
                      buckets: dict[str, list[int]],
                      enough: Callable[[dict[str, SeriesPoints]], bool] | None) -> dict[str, SeriesPoints]:
        """Points of each series (with its type's extra cells) read bucket by bucket in time order, 1, 2, 4, ...
        buckets at a time, until `enough` says that those read so far suffice (everything when it is None)."""
        windows = sorted({bucket for starts in buckets.values() for bucket in starts})
        parts: dict[str, list[SeriesPoints]] = {sid: [] for sid in series_ids}
        position, step = 0, 1 if enough else len(windows)
        while position < len(windows):
            chosen = set(windows[position:position + step])
            position, step = position + step, step * 2
            some = {sid: [bucket for bucket in buckets[sid] if bucket in chosen] for sid in series_ids}
            for sid, data in self.read(metric, series_ids, start_ms, end_ms, metric.extra_columns, some).items():
                parts[sid].append(data)
            if enough is not None and enough({sid: joined(each) for sid, each in parts.items()}):
                break
        return {sid: joined(each) for sid, each in parts.items()}

    def fetch(self, metric: Metric, series_ids: list[str], buckets: dict[str, list[int]], start_ms: int, end_ms: int,
              extra: tuple[str, ...], with_intake: bool = True) -> tuple[dict[str, list[tuple]], dict]:
        """The chunk rows (written, ts, value, *extra, hour) of each series' hours that meet [start, end), in time
        order: one read per partition holding any of them (see `reads`); and, `with_intake`, each series' pieces
        of the intake rows not merged yet (read at the same time)."""
        rows_by_series: dict[str, list] = {sid: [] for sid in series_ids}
        statements = self.reads(metric, series_ids, buckets, start_ms, end_ms, extra)
        fresh = self.intake_reads(metric, {values[2] for _, values in statements}, extra) if with_intake else []
        results = self.db.execute_all(statements + fresh, "Cassandra read failed", RAW_PROFILE)
        for rows in results[:len(statements)]:
            for row in rows:
                if row[0] in rows_by_series:
                    rows_by_series[row[0]].append(row[1:])
        return rows_by_series, intake.pieces([row for rows in results[len(statements):] for row in rows],
                                             rows_by_series, extra)

    def intake_reads(self, metric: Metric, buckets: set[int], extra: tuple[str, ...]) -> list[tuple]:
        """The read of the intake rows (written, series, sizes, ts, value, *extra, bucket) of these buckets: one
        statement, none without buckets."""
        if not buckets:
            return []
        select = self.db.prepare(intake.SELECT_BUCKETS.format(columns="".join(f", {name}" for name in extra)))
        return [(select, (metric.name, sorted(buckets)))]

    def reads(self, metric: Metric, series_ids: list[str], buckets: dict[str, list[int]], start_ms: int, end_ms: int,
              extra: tuple[str, ...]) -> list[tuple]:
        """The statements reading the chunks (series_id, written, ts, value, *extra, hour) of the series' hours in
        [start, end), one per partition (bucket and shard) in time order (see `read_of`)."""
        return [self.read_of(metric, bucket, shard, sids, low, high, extra)
                for bucket, shard, sids, low, high in self.partitions(metric, series_ids, buckets, start_ms, end_ms)]

    def partitions(self, metric: Metric, series_ids: list[str], buckets: dict[str, list[int]], start_ms: int,
                   end_ms: int) -> list[tuple[int, int, list[str], int, int]]:
        """(bucket, shard, its series, from, to) of each partition to read, in time order: from the first hour
        of [start, end) in it, to the end of the range or of the bucket."""
        first_hour = start_ms - start_ms % HOUR_MS
        return [(bucket, shard, sids, max(first_hour, bucket), min(end_ms, bucket + metric.partition_ms))
                for (bucket, shard), sids in by_partition(series_ids, buckets).items()]

    def read_of(self, metric: Metric, bucket: int, shard: int, sids: list[str], low: int, high: int,
                extra: tuple[str, ...] = ()) -> tuple:
        """The statement reading the chunks of the hours from `low` to `high` of a partition's series: naming
        them when they are few, else reading its hours whole (the caller keeps the series it wants)."""
        columns = "".join(f", {name}" for name in extra)
        named = list(range(low, high, HOUR_MS))
        if len(sids) <= SERIES_IN and len(sids) * len(named) <= SLICES:
            return self.db.prepare(SELECT.format(columns=columns, where=SOME)), (metric.name, shard, bucket, named,
                                                                                 sids)
        return self.db.prepare(SELECT.format(columns=columns, where=HOURS)), (metric.name, shard, bucket, low, high)

    def columns(self, metric: Metric, series_ids: list[str], buckets: dict[str, list[int]], start_ms: int,
                end_ms: int, slice_reads: int = COLUMN_READS) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The points of many series in [start, end) as columns (each point's position in series_ids, time,
        value), `slice_reads` partitions at a time (0: all at once), each with the intake rows' pieces of its series:
        for folding across thousands of series with no Python object per series or point, in memory (and answers
        in flight) bounded by a slice. Series and buckets in the chunk cache are not read (storage/chunk_cache.py:
        the intake rows with their buckets' `changed` first, one request, then the chunks not cached, which are
        kept)."""
        position = {sid: i for i, sid in enumerate(series_ids)}
        partitions = self.partitions(metric, series_ids, buckets, start_ms, end_ms)
        fresh: dict[tuple[int, int], list[tuple[str, intake.Piece]]] = defaultdict(list)
        reads = self.intake_reads(metric, {bucket for bucket, *_ in partitions}, ())
        rows_by_bucket, changed = defaultdict(list), {}
        for rows in self.db.execute_all(reads, "Cassandra read failed", RAW_PROFILE):
            for row in rows:
                rows_by_bucket[row[-1]].append(row)
                changed[row[-1]] = row[-2]
        for bucket, rows in sorted(rows_by_bucket.items()):
            for sid, found in intake.pieces(rows, position, ()).items():
                fresh[(bucket, shard_of(sid))] += [(sid, piece) for piece in found]
        step = slice_reads or len(partitions) or 1
        for first in range(0, len(partitions), step):
            some = partitions[first:first + step]
            pieces = self.cached_pieces(metric, some, changed)
            merging = [piece for bucket, shard, *_ in some for piece in fresh.get((bucket, shard), ())]
            # by series (each one's pieces kept in order: buckets, then intake rows), so that flattened's stable
            # sort by series meets one sorted run (72,000 points: 2.5 ms → 0.3 ms)
            by_series = sorted(pieces + merging, key=lambda pair: position[pair[0]])
            yield flattened([], position, start_ms, end_ms, by_series)

    def cache_of(self, metric: Metric) -> chunk_cache.ChunkCache:
        """The chunk cache, or none for a metric with a retention: Cassandra expires its points by TTL, which writes
        no `changed`, so a cached copy would outlive them."""
        return NO_CACHE if metric.ttl_seconds else self.cache

    def changed(self, metric: Metric, buckets: list[int]) -> dict[int, uuid.UUID]:
        """Each bucket's `changed` timeuuid (none for a bucket whose chunks never changed since it was added), read
        only when the metric is cached (a read of raw points has it from the intake rows' read)."""
        if not self.cache_of(metric).max_bytes or not buckets:
            return {}
        rows = self.db.session.execute(self.db.prepare(intake.CHANGES), (metric.name, buckets),
                                       execution_profile=RAW_PROFILE)
        return dict(rows)

    def cached_pieces(self, metric: Metric, partitions: list[tuple], changed: dict[int, uuid.UUID]
                      ) -> list[tuple[str, intake.Piece]]:
        """Each series' chunk points of these partitions as (series, piece) pairs: from the cache where it holds
        them under the bucket's `changed`, else read (concurrently, one read per partition) and cached."""
        found: dict[tuple[int, str], intake.Piece] = {}
        missing = []
        cache = self.cache_of(metric)
        for bucket, shard, sids, low, high in partitions:
            left = []
            for sid in sids:
                entry = cache.get((metric.id, bucket, sid), changed.get(bucket), low, high)
                if entry is None:
                    left.append(sid)
                elif len(entry.ts):
                    found[(bucket, sid)] = intake.Piece(entry.written, entry.ts, entry.value, [])
            if left:
                missing.append((bucket, shard, left, low, high))
        statements = [self.read_of(metric, *partition) for partition in missing]
        for (bucket, _, sids, low, high), rows in zip(missing, self.db.execute_all(statements, "Cassandra read failed",
                                                                                 RAW_PROFILE)):
            found.update(self.kept(metric, bucket, sids, low, high, rows, changed.get(bucket)))
        return [(sid, found[(bucket, sid)]) for bucket, _, sids, *_ in partitions for sid in sids
                if (bucket, sid) in found]

    def kept(self, metric: Metric, bucket: int, sids: list[str], low: int, high: int, rows, changed
             ) -> dict[tuple[int, str], intake.Piece]:
        """The points of a partition's chunk rows read for these series, each series' as one piece (keyed by its
        newest chunk), put in the cache as of `changed` (a series without chunks there too, as no points)."""
        position = {sid: i for i, sid in enumerate(sids)}
        rows = [row for row in rows if row[0] in position]
        cover = -(-high // HOUR_MS) * HOUR_MS  # the hours read whole
        points = split(*flattened(rows, position, low, cover), sids)
        newest: dict[str, uuid.UUID] = {}
        for row in rows:
            if row[0] not in newest or (row[1].time, row[1].bytes) > (newest[row[0]].time, newest[row[0]].bytes):
                newest[row[0]] = row[1]
        kept = {}
        cache = self.cache_of(metric)
        for sid in sids:
            written = newest.get(sid, NO_CHUNK)
            entry = chunk_cache.Entry(changed, low, cover, points[sid].ts, points[sid].value, written)
            cache.put((metric.id, bucket, sid), entry)
            if sid in newest:
                kept[(bucket, sid)] = intake.Piece(written, entry.ts, entry.value, [])
        return kept

    def drop(self, metric: Metric, buckets: list[int]) -> int:
        """Delete every chunk and intake row of a metric in these buckets, concurrently; returns the partitions
        dropped."""
        return self.drop_shards(metric, {(shard, bucket) for bucket in buckets for shard in range(SHARDS)}, buckets)

    def drop_partitions(self, metric: Metric, partitions: set[tuple[str, int]]) -> int:
        """Delete the points of a deleted metric in the partitions of these (series or intake.INTAKE, bucket)."""
        return self.drop_shards(metric, {(shard_of(sid), bucket) for sid, bucket in partitions if sid != intake.INTAKE},
                                sorted({bucket for sid, bucket in partitions if sid == intake.INTAKE}))

    def drop_shards(self, metric: Metric, partitions: set[tuple[int, int]], intake_buckets: list[int]) -> int:
        drop, drop_intake = self.db.prepare(DROP), self.db.prepare(intake.DROP)
        statements = [(drop, (metric.name, shard, bucket)) for shard, bucket in sorted(partitions)]
        statements += [(drop_intake, (metric.name, bucket)) for bucket in intake_buckets]
        self.db.execute_all(statements, f"deleting the points of {metric.name}")
        self.changes(metric, sorted({bucket for _, bucket in partitions} | set(intake_buckets)))
        return len(statements)

    def changes(self, metric: Metric, buckets: list[int]) -> None:
        """Give these buckets a new `changed` timeuuid: their chunks changed (storage/chunk_cache.py)."""
        changed = self.db.prepare(intake.CHANGED)
        self.db.execute_all([(changed, (metric.ttl_seconds, metric.name, bucket)) for bucket in buckets],
                            f"noting the change of the points of {metric.name}")

    def merge_intake(self, metric: Metric, bucket: int) -> tuple[set[tuple[str, int]], int | None]:
        """Merge a bucket's intake rows written intake.SETTLE_MS ago into per-series chunks keyed by the newest of
        them (a point written twice keeps its later write), then delete those rows as one range with the bucket's new
        `changed` (read from every replica, so none acknowledged is missed; with one down, the merge waits for it);
        returns the (series, bucket) partitions that got chunks (for their rollups) and when (epoch ms) the rows
        left, too young, will be ready (None: none are)."""
        extra = metric.extra_columns
        select = self.db.prepare(intake.SELECT.format(columns="".join(f", {name}" for name in extra)))
        try:  # every replica: whatever read and write consistency say, no acknowledged row is missed and deleted
            rows = intake.stored(self.db.session.execute(select, (metric.name, bucket), execution_profile=ALL_PROFILE))
        except (Unavailable, ReadTimeout, OperationTimedOut):  # a replica down: merge once it is back
            return set(), int(self.clock() * 1000) + intake.RETRY_MS
        settled_before = uuid_time(self.clock() * 1000 - intake.SETTLE_MS)
        young = [row[0].time for row in rows if row[0].time >= settled_before]
        due = uuid_ms(max(young)) + intake.SETTLE_MS if young else None
        settled = sorted((row for row in rows if row[0].time < settled_before),
                         key=lambda row: (row[0].time, row[0].bytes))
        if not settled:
            return set(), due
        series: dict[str, int] = {}
        indexes, times, values, cells = [], [], [], [[] for _ in extra]
        for row in settled:  # in write order, so that `stored_order` keeps a repeated time's later write
            sids, sizes, ts, value, extras = intake.decoded(row, extra)
            codes = np.array([series.setdefault(sid, len(series)) for sid in sids], dtype=np.int64)
            indexes.append(np.repeat(codes, sizes))
            times.append(ts)
            values.append(value)
            for column, more in zip(cells, extras):
                column += more
        points = Points(list(series), np.concatenate(indexes), np.concatenate(times), np.concatenate(values),
                        **dict(zip(extra, cells)))
        newest = settled[-1][0]
        partitions, chunks = chunk_rows(metric, points, newest)
        self.db.execute_all([(batch, None) for batch in batched(self.db.prepare(INSERT), chunks)],
                            f"merging the intake rows of {metric.name} into chunks")
        done = BatchStatement(batch_type=BatchType.UNLOGGED)  # one partition: a reader sees both or neither
        done.add(self.db.prepare(intake.CHANGED), (metric.ttl_seconds, metric.name, bucket))
        done.add(self.db.prepare(intake.CLEAR), (metric.name, bucket, newest))
        self.db.session.execute(done)
        return partitions, due

    def compact(self, metric: Metric, sid: str, bucket: int) -> tuple[SeriesPoints, int | None]:
        """A partition's points, after rewriting as one chunk each hour that has COMPACT_AT chunks or more written
        SETTLED_MS ago (one-point writes, late points); and when (epoch ms) an hour left with COMPACT_AT chunks or
        more because some were younger will be ready (None: none is). The merged chunk takes the key of the
        last-written of them, and those before it are deleted as one range in the same single-partition batch
        (isolated: a reader sees the old chunks or the new one). A chunk written since is left alone; a deleted
        chunk brought back by a lost tombstone only repeats points that the newer merged chunk holds."""
        extra = metric.extra_columns
        end = bucket + metric.partition_ms
        rows = self.fetch(metric, [sid], {sid: [bucket]}, bucket, end, extra, with_intake=False)[0][sid]
        settled_before = uuid_time(self.clock() * 1000 - SETTLED_MS)
        by_hour: dict[int, list] = defaultdict(list)
        for row in rows:
            by_hour[row[-1]].append(row)
        insert, earlier = self.db.prepare(INSERT), self.db.prepare(EARLIER)
        statements, due = [], None
        for hour, every in by_hour.items():
            chunks = [chunk for chunk in every if chunk[0].time < settled_before]
            young = [chunk[0].time for chunk in every if chunk[0].time >= settled_before]
            left = len(every)
            if len(chunks) >= COMPACT_AT and sum(len(chunk[1]) for chunk in chunks) <= MAX_CHUNK_POINTS * codec.WIDTH:
                newest = max((chunk[0] for chunk in chunks), key=lambda written: (written.time, written.bytes))
                batch = BatchStatement(batch_type=BatchType.UNLOGGED)
                points = merged(chunks, extra, hour, hour + HOUR_MS)
                batch.add(insert, chunk_rows_of(metric, [(sid, hour)], [newest], points,
                                                np.array([len(points)]))[0])
                batch.add(earlier, (metric.name, shard_of(sid), bucket, hour, sid, newest))
                statements.append((batch, None))
                left = 1 + len(young)
            if young and left >= COMPACT_AT:
                due = max(due or 0, uuid_ms(max(young)) + SETTLED_MS)
        self.db.execute_all(statements, f"compacting {metric.name} {sid}")
        return merged(rows, extra, bucket, end), due


NO_CACHE = chunk_cache.ChunkCache(0)  # holds nothing: what a metric with a retention reads through
NO_CHUNK = uuid.UUID(int=0)  # what a cache entry of a series without chunks in a partition is keyed by
UUID_EPOCH = 0x01B21DD213814000  # 1970-01-01 in a version-1 UUID's `time` field (100 ns steps since 1582-10-15)


def uuid_time(epoch_ms: float) -> int:
    """A time as a version-1 UUID's `time` field counts it."""
    return int(epoch_ms * 10_000) + UUID_EPOCH


def uuid_ms(time_field: int) -> int:
    """A version-1 UUID's `time` field as epoch ms."""
    return (time_field - UUID_EPOCH) // 10_000


def merged(rows: list[tuple], extra: tuple[str, ...], start_ms: int, end_ms: int,
           pieces: tuple | list = ()) -> SeriesPoints:
    """Chunk rows (written, ts, value, *extra, ...), in partition then hour order, and intake pieces, as one
    series' points in [start, end) by time; of points with the same time, the one written last."""
    ts = np.concatenate([codec.decode_ts([row[1] for row in rows]), *(piece.ts for piece in pieces)])
    value = np.concatenate([codec.decode_values([row[2] for row in rows]), *(piece.value for piece in pieces)])
    sizes = np.concatenate([codec.sizes_of([row[1] for row in rows]),
                            np.array([len(piece.ts) for piece in pieces], dtype=np.int64)])
    keep = np.arange(len(ts))
    if np.any(ts[1:] <= ts[:-1]):  # chunks of one hour overlap, or pieces come after
        keep = latest([row[0] for row in rows] + [piece.written for piece in pieces], sizes, ts)
    keep = keep[(ts[keep] >= start_ms) & (ts[keep] < end_ms)]
    columns = {}
    for position, name in enumerate(extra):
        every = [cell for row, size in zip(rows, sizes.tolist())
                 for cell in codec.decode_cells(row[3 + position], size)]
        every += [cell for piece in pieces for cell in piece.cells[position]]
        columns[name] = [every[i] for i in keep.tolist()]
    return SeriesPoints(ts=ts[keep], value=value[keep], **columns)


def flattened(rows: list[tuple], position: dict[str, int], start_ms: int, end_ms: int,
              pieces: list[tuple[str, intake.Piece]] = ()) -> tuple[np.ndarray, ...]:
    """Chunk rows (series_id, written, ts, value, hour) of many series, and (series, intake piece) pairs, as
    columns: each point's series (its position), time and value, in [start, end), by series and time; of points
    with the same series and time, the one written last."""
    blobs = [row[2] for row in rows]
    pieces = [(sid, within(piece, start_ms, end_ms)) for sid, piece in pieces]
    ts = np.concatenate([codec.decode_ts(blobs), *(piece.ts for _, piece in pieces)])
    value = np.concatenate([codec.decode_values([row[3] for row in rows]), *(piece.value for _, piece in pieces)])
    sizes = np.concatenate([codec.sizes_of(blobs), np.array([len(piece.ts) for _, piece in pieces], dtype=np.int64)])
    owners = [position[row[0]] for row in rows] + [position[sid] for sid, _ in pieces]
    series = np.repeat(np.array(owners, dtype=np.int64), sizes)
    # each series' points as stored (by partition, hour, write, then pieces); none moved when they already come by
    # series, as a read from the chunk cache's pieces does (each gather of 72,000 points cost ~0.3 ms, six of them)
    keep = None if np.all(series[1:] >= series[:-1]) else np.argsort(series, kind="stable")
    by_series, times = (series, ts) if keep is None else (series[keep], ts[keep])
    if np.any((by_series[1:] == by_series[:-1]) & (times[1:] <= times[:-1])):  # overlap, late chunks or pieces
        keep = latest([row[1] for row in rows] + [piece.written for _, piece in pieces], sizes, ts, series)
    if keep is None:
        inside = (ts >= start_ms) & (ts < end_ms)
        return (series, ts, value) if inside.all() else (series[inside], ts[inside], value[inside])
    keep = keep[(ts[keep] >= start_ms) & (ts[keep] < end_ms)]
    return series[keep], ts[keep], value[keep]


def within(piece: intake.Piece, start_ms: int, end_ms: int) -> intake.Piece:
    """A piece's points in [start, end) (a cached piece holds whole hours): cut by its sorted times, where a mask
    over the points of every piece together cost a copy of each column (50 series' day: ~1 ms)."""
    ts = piece.ts
    if not len(ts) or (ts[0] >= start_ms and ts[-1] < end_ms):
        return piece
    low, high = np.searchsorted(ts, (start_ms, end_ms)).tolist()
    return intake.Piece(piece.written, ts[low:high], piece.value[low:high], [cells[low:high] for cells in piece.cells])


def split(series: np.ndarray, ts: np.ndarray, value: np.ndarray, series_ids: list[str]) -> dict[str, SeriesPoints]:
    """Columns of many series, by series and time (as `flattened` gives them), as each series' points."""
    bounds = np.searchsorted(series, np.arange(len(series_ids) + 1)).tolist()
    return {sid: SeriesPoints(ts[bounds[at]:bounds[at + 1]], value[bounds[at]:bounds[at + 1]])
            for at, sid in enumerate(series_ids)}


def latest(written: list[uuid.UUID], sizes: np.ndarray, ts: np.ndarray, series: np.ndarray | None = None) -> np.ndarray:
    """Positions of the points to keep, by series and time, when chunks overlap (an hour written more than once):
    of points with the same series and time, the one of the chunk written last."""
    rank = written_order(written)
    keys = [np.repeat(rank, sizes), ts] + ([] if series is None else [series])
    keep = np.lexsort(keys)
    same = ts[keep][1:] == ts[keep][:-1]
    if series is not None:
        same &= series[keep][1:] == series[keep][:-1]
    return keep[np.append(~same, True)]


def written_order(written: list[uuid.UUID]) -> np.ndarray:
    """Each timeuuid's rank by (time, bytes), as Cassandra orders them, computed on their bytes at once (sorting
    the UUID objects took 270 ms of a 200-series day's read): the 60-bit time from its three fields, then the
    clock sequence and node (the last 8 bytes, big-endian) for ties."""
    raw = np.frombuffer(b"".join(each.bytes for each in written), dtype=">u4").reshape(-1, 4).astype(np.uint64)
    time = ((raw[:, 1] & 0xFFFF) << np.uint64(48)) | ((raw[:, 1] >> np.uint64(16)) << np.uint64(32)) | raw[:, 0]
    time = time & np.uint64(0x0FFF_FFFF_FFFF_FFFF)
    order = np.lexsort((raw[:, 3], raw[:, 2], time))
    rank = np.empty(len(written), dtype=np.int64)
    rank[order] = np.arange(len(written))
    return rank


def joined(parts: list[SeriesPoints]) -> SeriesPoints:
    """One series' points read in time-ordered pieces, as one."""
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return SeriesPoints(np.empty(0, np.int64), np.empty(0))
    cells = {name: [cell for part in parts for cell in getattr(part, name)]
             for name in ("state", "buckets") if getattr(parts[0], name) is not None}
    return SeriesPoints(np.concatenate([part.ts for part in parts]), np.concatenate([part.value for part in parts]),
                        **cells)
