"""Hourly rollups (count, sum, min, max, first, last) that stay right under concurrent and late writes.

A write marks the raw partitions it touched, after Cassandra acknowledged the points. A worker compacts a
marked partition's chunks (of every metric type), recomputes its hours from raw and stores them with the mark's
own write timestamp, then deletes the mark at that timestamp. A recomputation that started from an older mark
can only carry an older timestamp, so it never overwrites a newer one, and a mark set again while a partition
was being recomputed survives its delete. Queries read rollups only for series with no pending mark in their
range; the rest are read raw.
"""
import logging
import random
import threading
import time
import zlib
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from cassandra.query import BatchStatement, BatchType

from metrics_server.errors import one_line
from metrics_server.model import ROLLUP_COLUMNS, ROLLUP_TYPES, Metric
from metrics_server.query.aggregate import rollup
from metrics_server.storage.db import RAW_PROFILE, Database, unlogged_batches
from metrics_server.storage.points import HOUR_MS, PointStore
from metrics_server.storage.registry import Registry

log = logging.getLogger(__name__)
PARTITION_MS = 90 * 24 * HOUR_MS
SHARDS = 8
MARKS_PER_BATCH = 100
REFRESH_THREADS = 8
GROUP = 2 * REFRESH_THREADS  # marks checked and cleared together
MAX_DEFER = 30.0  # seconds a busy process may put rollups off
BUSY_POLL = 0.2
MARK = "INSERT INTO {ks}.dirty (shard, metric, series_id, bucket, marked_at) VALUES (?, ?, ?, ?, toTimestamp(now()))"
UNMARK = "DELETE FROM {ks}.dirty USING TIMESTAMP ? WHERE shard = ? AND metric = ? AND series_id = ? AND bucket = ?"
MARKS = "SELECT metric, series_id, toUnixTimestamp(bucket), writetime(marked_at) FROM {ks}.dirty WHERE shard = ?"
MARKS_OF = ("SELECT series_id, toUnixTimestamp(bucket) FROM {ks}.dirty WHERE shard = ? AND metric = ?")
MARKS_NOW = ("SELECT metric, series_id, toUnixTimestamp(bucket), writetime(marked_at) FROM {ks}.dirty"
             " WHERE shard = ? AND (metric, series_id, bucket) IN ?")
STORE = ("INSERT INTO {ks}.rollups (metric, series_id, resolution, bucket, ts, count, sum, min, max, first, last,"
         " first_ts, last_ts) VALUES (?, ?, 'hour', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ? AND TTL ?")
SELECT = ("SELECT toUnixTimestamp(ts), count, sum, min, max, first, last, toUnixTimestamp(first_ts),"
          " toUnixTimestamp(last_ts) FROM {ks}.rollups WHERE metric = ? AND series_id = ? AND resolution = 'hour'"
          " AND bucket = ? AND ts >= ? AND ts < ?")


def shard_of(metric_name: str) -> int:
    """All marks of a metric share one shard partition, so a query finds them with one read."""
    return zlib.crc32(metric_name.encode()) % SHARDS


class Rollups:
    """Marks, recomputation and reads of the hourly rollups table."""

    def __init__(self, db: Database, registry: Registry, points: PointStore):
        self.db = db
        self.registry = registry
        self.points = points
        self.backlog: dict[int, int] = {}  # per shard: marks left after this process's last look at it

    def mark(self, touched: list[tuple[Metric, str, int]]) -> None:
        """Record the raw partitions a write touched (called after the points were acknowledged), in
        single-partition batches: a metric's marks share its shard partition."""
        statement = self.db.prepare(MARK)
        by_metric: dict[str, list] = defaultdict(list)
        for metric, sid, bucket in touched:
            by_metric[metric.name].append((shard_of(metric.name), metric.name, sid, bucket))
        batches = [batch for rows in by_metric.values()
                   for batch in unlogged_batches([(statement, values) for values in rows], MARKS_PER_BATCH)]
        self.db.execute_all(batches, "points stored, but their rollup marks were not; retry the request "
                                     "(safe, writes are idempotent)")

    def forget(self, metric: Metric) -> None:
        """Clear a deleted metric's marks (one range delete in its shard), so no worker goes through them."""
        self.db.session.execute(self.db.prepare("DELETE FROM {ks}.dirty WHERE shard = ? AND metric = ?"),
                                (shard_of(metric.name), metric.name))

    def pending(self, metric: Metric) -> set[tuple[str, int]]:
        """(series, raw partition start) pairs of the metric whose rollups are not recomputed yet."""
        rows = self.db.session.execute(self.db.prepare(MARKS_OF), (shard_of(metric.name), metric.name),
                                       execution_profile=RAW_PROFILE)
        return {(sid, bucket) for sid, bucket in rows}

    @staticmethod
    def partitions(buckets: dict[str, list[int]], metric: Metric) -> dict[str, list[int]]:
        """The rollup partitions holding the hours of each series' raw buckets: only where data exists, so an
        8,000-year range over a month of data reads one partition, not 32,500 (issue 10)."""
        return {sid: sorted({edge - edge % PARTITION_MS for bucket in starts
                             for edge in (bucket, bucket + metric.partition_ms - 1)})
                for sid, starts in buckets.items()}

    def read(self, metric: Metric, series_ids: list[str], start_ms: int, end_ms: int,
             partitions: dict[str, list[int]] | None = None) -> dict[str, dict]:
        """Hour rows of each series in [start, end), as the column arrays the query engine combines; from the
        given rollup partitions of each series (those that can hold data), else from every one in the range."""
        select = self.db.prepare(SELECT)
        first = start_ms - start_ms % PARTITION_MS
        every = range(first, end_ms, PARTITION_MS)
        plan = [(sid, bucket) for sid in series_ids for bucket in (every if partitions is None else [
            part for part in partitions[sid] if first <= part < end_ms])]
        statements = [(select, (metric.name, sid, bucket, max(start_ms, bucket), min(end_ms, bucket + PARTITION_MS)))
                      for sid, bucket in plan]
        results = self.db.execute_all(statements, "Cassandra read failed", RAW_PROFILE)
        rows_by_series: dict[str, list] = defaultdict(list)
        for (sid, _), rows in zip(plan, results):
            rows_by_series[sid].extend(rows)
        return {sid: columns(rows_by_series[sid]) for sid in series_ids}

    def refresh(self, metric: Metric, sid: str, bucket: int, timestamp: int) -> int:
        """Compact one raw partition and recompute its hours from its points; returns how many hours it has."""
        data = self.points.compact(metric, sid, bucket)
        if metric.type not in ROLLUP_TYPES:
            return 0
        edges = np.arange(bucket, bucket + metric.partition_ms + 1, HOUR_MS, dtype=np.int64)
        rows = rollup(data.ts, data.value, edges)
        store = self.db.prepare(STORE)
        batches: dict[int, BatchStatement] = {}
        for i, start in enumerate(rows["start"].tolist()):
            partition = start - start % PARTITION_MS
            batch = batches.setdefault(partition, BatchStatement(batch_type=BatchType.UNLOGGED))
            batch.add(store, (metric.name, sid, partition, start,
                              int(rows["count"][i]), *(float(rows[c][i]) for c in ROLLUP_COLUMNS[1:6]),
                              int(rows["first_ts"][i]), int(rows["last_ts"][i]),
                              timestamp, metric.ttl_seconds))
        for batch in batches.values():
            self.db.session.execute(batch)
        return len(rows["start"])

    def run_once(self, limit: int = 2000, settle: float = 0.0, keep_going: Callable[[], bool] = lambda: True) -> int:
        """Recompute up to `limit` partitions marked over `settle` seconds ago (so that a partition being
        written is recomputed once its writes pause), shards in random order, so instances spread out; stops
        early once `keep_going` says so."""
        done = 0
        marked_before = (time.time() - settle) * 1_000_000  # writetime is in microseconds
        with ThreadPoolExecutor(REFRESH_THREADS) as pool:  # each refresh waits on a few round trips
            for shard in random.sample(range(SHARDS), SHARDS):
                if done >= limit:
                    break
                marks = [tuple(mark[:3]) for mark in self.db.session.execute(
                    self.db.prepare(MARKS), (shard,), execution_profile=RAW_PROFILE) if mark[3] <= marked_before]
                random.shuffle(marks)
                self.backlog[shard] = len(marks)
                for start in range(0, len(marks), GROUP):
                    if done >= limit or not keep_going():
                        return done
                    done += self.refresh_group(pool, shard, marks[start:start + min(GROUP, limit - done)])
                    self.backlog[shard] = max(0, len(marks) - start - GROUP)
        return done

    def refresh_group(self, pool: ThreadPoolExecutor, shard: int, marks: list[tuple[str, str, int]]) -> int:
        """Recompute the marked partitions that no other instance has done meanwhile (checked with one read for
        the group), then clear their marks in one batch; returns how many."""
        rows = self.db.session.execute(self.db.prepare(MARKS_NOW), (shard, marks), execution_profile=RAW_PROFILE)
        current = {tuple(row[:3]): row[3] for row in rows}
        list(pool.map(lambda mark: self.refresh_mark(*mark, current[mark]), current))
        unmark = self.db.prepare(UNMARK)
        batch = BatchStatement(batch_type=BatchType.UNLOGGED)
        for (name, sid, bucket), timestamp in current.items():
            batch.add(unmark, (timestamp, shard, name, sid, bucket))
        if current:
            self.db.session.execute(batch)
        return len(current)

    def refresh_mark(self, name: str, sid: str, bucket: int, timestamp: int) -> None:
        metric = self.registry.get(name)
        if metric is not None:  # else the metric was deleted with its points: only the mark is left to clear
            self.refresh(metric, sid, bucket, timestamp)


def columns(rows: list[tuple]) -> dict[str, np.ndarray]:
    """Stored hour rows (start, count, sum, min, max, first, last, first_ts, last_ts) as arrays."""
    table = np.array(rows, dtype=np.float64).reshape(len(rows), 1 + len(ROLLUP_COLUMNS))
    result = {"start": table[:, 0].astype(np.int64), "count": table[:, 1].astype(np.int64)}
    result.update({name: table[:, 2 + i] for i, name in enumerate(ROLLUP_COLUMNS[1:6])})
    result.update({"first_ts": table[:, 7].astype(np.int64), "last_ts": table[:, 8].astype(np.int64)})
    return result


class RollupWorker(threading.Thread):
    """Keeps rollups current in the background of one serving process. Requests come first: while the process
    is busy serving, passes wait (and a pass under way stops), for up to `max_defer` seconds, so that a burst of
    writes does not share the CPU with recomputing what it wrote; queries read those series raw meanwhile."""

    def __init__(self, rollups: Rollups, pause: float = 1.0, settle: float = 0.5,
                 busy: Callable[[], bool] = lambda: False, max_defer: float = MAX_DEFER):
        super().__init__(name="rollups", daemon=True)
        self.rollups = rollups
        self.pause, self.settle = pause, settle
        self.busy, self.max_defer = busy, max_defer
        self.stopping = threading.Event()

    def run(self) -> None:
        last_pass = time.monotonic()
        while not self.stopping.is_set():
            overdue = time.monotonic() - last_pass >= self.max_defer
            if self.busy() and not overdue:
                self.stopping.wait(BUSY_POLL)
                continue
            try:
                def keep_going(late=overdue) -> bool:
                    return late or not self.busy()

                done = self.rollups.run_once(settle=self.settle, keep_going=keep_going)
                last_pass = time.monotonic()
                if done:
                    continue
            except Exception as error:
                log.warning("rollup pass failed (will retry): %s", one_line(error))
            self.stopping.wait(self.pause)

    def stop(self) -> None:
        self.stopping.set()
