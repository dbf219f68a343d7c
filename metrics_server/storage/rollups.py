"""Hourly rollups (count, sum, min, max, first, last) that stay right under concurrent and late writes.

A write marks the intake partitions it touched (intake.INTAKE: a metric's bucket), after Cassandra acknowledged
the points; the worker merges their rows into chunks and marks the series partitions that got chunks, whose
rollups it then recomputes (a query treats every series of a bucket with unmerged rows as pending). A partition
this process
marked less than MARK_CACHE_SECONDS ago is not marked again (issue 23: a mark per series and request was a
second row per chunk), which is safe because a worker recomputes a mark only once it is older than that (SETTLE):
the points of a write that skipped its mark were stored before the mark it relied on could be taken. A worker
compacts a
marked partition's chunks (of every metric type), recomputes its hours from raw and stores them with the mark's
own write timestamp, then deletes the mark at that timestamp. A recomputation that started from an older mark
can only carry an older timestamp, so it never overwrites a newer one, and a mark set again while a partition
was being recomputed survives its delete. Queries read rollups only for series with no pending mark in their
range; the rest are read raw.

The hours of one series' raw partition (a day by default) are one row, a table of its columns by hour, in the
chunks' layout: a partition per metric, bucket and shard. So a 30-day chart reads 30 small rows, and the day of
20,000 series is 64 reads of 312 rows (issue 14: 20,000 partitions, a row per hour, before).
"""
import logging
import random
import threading
import time
import uuid
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from cassandra.query import BatchStatement, BatchType

from metrics_server.errors import one_line
from metrics_server.model import ROLLUP_COLUMNS, ROLLUP_TYPES, Metric
from metrics_server.query.aggregate import rollup
from metrics_server.storage.chunk_cache import Entry
from metrics_server.storage.db import RAW_PROFILE, Database, unlogged_batches
from metrics_server.storage.intake import ACK_WITHIN, INTAKE
from metrics_server.storage.points import COLUMN_READS, HOUR_MS, NO_CHUNK, SERIES_IN, PointStore, by_partition
from metrics_server.storage.points import shard_of as series_shard
from metrics_server.storage.registry import Registry

log = logging.getLogger(__name__)
SHARDS = 32
MARKS_PER_BATCH = 100
REFRESH_THREADS = 8
GROUP = 2 * REFRESH_THREADS  # marks checked and cleared together
INT_COLUMNS = ("count", "first_ts", "last_ts")
MAX_DEFER = 30.0  # seconds a busy process may put rollups off
MAX_IDLE_PAUSE = 8.0  # a worker that keeps finding no mark at all looks again at most this much later
MARK_CACHE_SECONDS = 2.0  # a write skips the marks this process set as recently as this
SETTLE = MARK_CACHE_SECONDS + 1.0  # a mark is recomputed once older than that (a second for instances' clocks)
MAX_REMEMBERED = 200_000  # marks remembered; past that the expired ones are forgotten
BUSY_POLL = 0.2
NO_TIMES = np.empty(0, np.int64)  # a cached row of hours is its stored table alone (`value`)
MARK = "INSERT INTO {ks}.dirty (shard, metric, series_id, bucket, marked_at) VALUES (?, ?, ?, ?, toTimestamp(now()))"
# A mark dated in the future (its write time), for when a partition's young chunks can be compacted: the worker
# takes a mark once its write time is `settle` past, and that mark's delete clears the marks of writes before it,
# whose points that later pass reads too.
MARK_AT = MARK + " USING TIMESTAMP ?"
UNMARK = "DELETE FROM {ks}.dirty USING TIMESTAMP ? WHERE shard = ? AND metric = ? AND series_id = ? AND bucket = ?"
MARKS = "SELECT metric, series_id, toUnixTimestamp(bucket), writetime(marked_at) FROM {ks}.dirty WHERE shard = ?"
MARKS_OF = "SELECT series_id, toUnixTimestamp(bucket) FROM {ks}.dirty WHERE shard = ? AND metric = ?"
MARKS_NOW = ("SELECT metric, series_id, toUnixTimestamp(bucket), writetime(marked_at) FROM {ks}.dirty"
             " WHERE shard = ? AND (metric, series_id, bucket) IN ?")
STORE = ("INSERT INTO {ks}.partition_rollups (metric, shard, bucket, series_id, hours) VALUES (?, ?, ?, ?, ?)"
         " USING TIMESTAMP ? AND TTL ?")
SELECT = "SELECT series_id, hours FROM {ks}.partition_rollups WHERE metric = ? AND shard = ? AND bucket = ?"
SOME = " AND series_id IN ?"


def shard_of(metric_name: str, sid: str) -> int:
    """The mark partition of a series: a metric's marks spread over every shard, so that a write of 200,000
    series leaves a few thousand marks (and, once cleared, tombstones) in each, not all in one, and a chart of a
    few series reads only theirs. A metric's intake mark (INTAKE) has a shard of its own per metric."""
    return (zlib.crc32(metric_name.encode()) + (0 if sid == INTAKE else series_shard(sid))) % SHARDS


class Rollups:
    """Marks, recomputation and reads of the hourly rollups table."""

    def __init__(self, db: Database, registry: Registry, points: PointStore):
        self.db = db
        self.registry = registry
        self.points = points
        self.backlog: dict[int, int] = {}  # per shard: marks left after this process's last look at it
        self.seen = 0  # marks, due or not, the last pass found
        self.marked = threading.Event()  # set when this process marks: its worker looks at once, however idle
        self._marked: dict[tuple[str, str, int], float] = {}  # (metric, series, bucket): when this process marked it
        self.mark_cache = MARK_CACHE_SECONDS
        self._lock = threading.Lock()

    def mark(self, touched: list[tuple[Metric, str, int]]) -> None:
        """Record the raw partitions a write touched (called after the points were acknowledged), in
        single-partition batches, but those this process marked in the last MARK_CACHE_SECONDS."""
        now = time.time()  # taken before the marks are sent: their write time is later
        keys = [(metric.name, sid, bucket) for metric, sid, bucket in touched]
        with self._lock:
            fresh = [key for key in keys if now - self._marked.get(key, 0.0) >= self.mark_cache]
        statement = self.db.prepare(MARK)
        by_shard: dict[int, list] = defaultdict(list)
        for name, sid, bucket in fresh:
            shard = shard_of(name, sid)
            by_shard[shard].append((shard, name, sid, bucket))
        batches = [batch for rows in by_shard.values()
                   for batch in unlogged_batches([(statement, values) for values in rows], MARKS_PER_BATCH)]
        self.db.execute_all(batches, "points stored, but their rollup marks were not; retry the request "
                                     "(safe, writes are idempotent)")
        with self._lock:
            if len(self._marked) > MAX_REMEMBERED:
                self._marked = {key: at for key, at in self._marked.items() if now - at < self.mark_cache}
            self._marked.update(dict.fromkeys(fresh, now))
        if fresh:
            self.marked.set()

    def forget(self, metric: Metric) -> None:
        """Clear a deleted metric's marks (a range delete in each shard), so no worker goes through them."""
        forget = self.db.prepare("DELETE FROM {ks}.dirty WHERE shard = ? AND metric = ?")
        self.db.execute_all([(forget, (shard, metric.name)) for shard in range(SHARDS)], "clearing rollup marks")
        with self._lock:  # a metric of that name created anew marks its partitions at once
            self._marked = {key: at for key, at in self._marked.items() if key[0] != metric.name}

    def pending(self, metric: Metric, series_ids: list[str]) -> set[tuple[str, int]]:
        """(series, raw partition start) pairs of the given series whose rollups are not recomputed yet (a read of
        their own marks when they are few, else a read per shard): every series of a bucket whose intake rows
        are not merged yet."""
        if len(series_ids) <= SERIES_IN:
            of_series = self.db.prepare(MARKS_OF + " AND series_id IN ?")
            by_shard: dict[int, list[str]] = defaultdict(list)
            for sid in [*series_ids, INTAKE]:
                by_shard[shard_of(metric.name, sid)].append(sid)
            statements = [(of_series, (shard, metric.name, sids)) for shard, sids in by_shard.items()]
        else:
            statements = [(self.db.prepare(MARKS_OF), (shard, metric.name)) for shard in range(SHARDS)]
        results = self.db.execute_all(statements, "reading rollup marks", RAW_PROFILE)
        marks = {(sid, bucket) for rows in results for sid, bucket in rows}
        unmerged = {bucket for sid, bucket in marks if sid == INTAKE}
        return {mark for mark in marks if mark[0] != INTAKE} | {(sid, bucket) for sid in series_ids
                                                                 for bucket in unmerged}

    def reads(self, metric: Metric, partitions: list[tuple[tuple[int, int], list[str]]]) -> list[tuple]:
        """The statements reading the rows (series_id, hours) of these partitions' series: one per partition,
        naming its series when they are few, else reading it whole (the caller keeps the series it wants)."""
        some, every = self.db.prepare(SELECT + SOME), self.db.prepare(SELECT)
        return [(some, (metric.name, shard, bucket, sids)) if len(sids) <= SERIES_IN else
                (every, (metric.name, shard, bucket))
                for (bucket, shard), sids in partitions]

    def read(self, metric: Metric, series_ids: list[str], start_ms: int, end_ms: int,
             buckets: dict[str, list[int]] | None = None) -> dict[str, dict]:
        """Hour rows of each series in [start, end), as the column arrays the query engine combines; from the
        given buckets of each series (those that can hold data), else from the index's."""
        if buckets is None:
            buckets = self.registry.buckets(metric, series_ids, start_ms, end_ms)
        found = next(self.columns(metric, series_ids, buckets, start_ms, end_ms, slice_reads=0), None)
        if found is None:
            return {sid: stacked([], np.empty(0, np.int64))[1] for sid in series_ids}
        series, hours = found
        order = np.argsort(series, kind="stable")
        bounds = np.searchsorted(series[order], np.arange(len(series_ids) + 1)).tolist()
        return {sid: {key: column[order[bounds[at]:bounds[at + 1]]] for key, column in hours.items()}
                for at, sid in enumerate(series_ids)}

    def columns(self, metric: Metric, series_ids: list[str], buckets: dict[str, list[int]], start_ms: int,
                end_ms: int, slice_reads: int = COLUMN_READS) -> Iterator[tuple[np.ndarray, dict]]:
        """The hour rows of many series in [start, end) as columns with each row's position in series_ids (each
        series' rows in time order), `slice_reads` partitions at a time (0: all at once): for folding across
        thousands of series in bounded memory."""
        position = {sid: i for i, sid in enumerate(series_ids)}
        partitions = list(by_partition(series_ids, buckets).items())
        changed = self.points.changed(metric, sorted({bucket for (bucket, _), _ in partitions}))
        step = slice_reads or len(partitions) or 1
        for first in range(0, len(partitions), step):
            found = self.cached_rows(metric, partitions[first:first + step], changed, position)
            rows, hours = stacked([blob for *_, blob in found], np.array([bucket for _, bucket, _ in found], np.int64))
            series = np.array([at for at, _, _ in found], dtype=np.int64)[rows]
            inside = (hours["start"] >= start_ms) & (hours["start"] < end_ms)
            yield series[inside], {key: column[inside] for key, column in hours.items()}

    def cached_rows(self, metric: Metric, partitions: list[tuple[tuple[int, int], list[str]]],
                    changed: dict[int, uuid.UUID], position: dict[str, int]) -> list[tuple[int, int, bytes]]:
        """(series position, bucket, stored row) of these partitions' series: from the chunk cache where it holds
        them under the bucket's `changed` (written anew once a recomputation stored them), else read and kept
        (a series without a row in a bucket too, as none)."""
        found, missing = [], []
        cache = self.points.cache_of(metric)
        for (bucket, shard), sids in partitions:
            left = []
            for sid in sids:
                entry = cache.get(("hours", metric.id, bucket, sid), changed.get(bucket), bucket, bucket)
                if entry is None:
                    left.append(sid)
                elif len(entry.value):
                    found.append((position[sid], bucket, entry.value.tobytes()))
            if left:
                missing.append(((bucket, shard), left))
        results = self.db.execute_all(self.reads(metric, missing), "Cassandra read failed", RAW_PROFILE)
        for ((bucket, _), sids), rows in zip(missing, results):
            stored = {sid: blob for sid, blob in rows}
            for sid in sids:  # a series without a row there too, as no hours
                blob = stored.get(sid, b"")
                cache.put(("hours", metric.id, bucket, sid), Entry(
                    changed.get(bucket), bucket, bucket, NO_TIMES, np.frombuffer(blob, "<f8"), NO_CHUNK))
                if blob:
                    found.append((position[sid], bucket, blob))
        return found

    def refresh(self, metric: Metric, sid: str, bucket: int, timestamp: int) -> int | None:
        """Compact one raw partition and recompute its hours from its points, or merge a bucket's intake rows
        (INTAKE) and mark the partitions that got chunks; returns when (epoch ms) chunks or intake rows too young
        to compact will be ready (None: none wait)."""
        if sid == INTAKE:
            partitions, due = self.points.merge_intake(metric, bucket)
            self.mark([(metric, series, start) for series, start in sorted(partitions)])
            return due
        data, due = self.points.compact(metric, sid, bucket)
        if metric.type not in ROLLUP_TYPES:
            return due
        edges = np.arange(bucket, bucket + metric.partition_ms + 1, HOUR_MS, dtype=np.int64)
        rows = rollup(data.ts, data.value, edges)
        table = np.zeros((len(ROLLUP_COLUMNS), len(edges) - 1))
        hour = (rows["start"] - bucket) // HOUR_MS
        for i, name in enumerate(ROLLUP_COLUMNS):
            table[i, hour] = rows[name]
        self.db.session.execute(self.db.prepare(STORE), (metric.name, series_shard(sid), bucket, sid,
                                                         table.astype("<f8").tobytes(), timestamp, metric.ttl_seconds))
        self.points.changes(metric, [bucket])  # after the rows: storage/chunk_cache.py
        return due

    def run_once(self, limit: int = 2000, settle: float = 0.0, keep_going: Callable[[], bool] = lambda: True) -> int:
        """Recompute up to `limit` partitions marked over `settle` seconds ago (so that a partition being
        written is recomputed once its writes pause), shards in random order, so instances spread out; stops
        early once `keep_going` says so, after the shard at hand (a request waits for one shard's read, not a
        pass's). Counts the marks it found, due or not, in `seen`."""
        done, self.seen = 0, 0
        marked_before = (time.time() - settle) * 1_000_000  # writetime is in microseconds
        # an intake mark also covers the writes that skipped marking within mark_cache of it: taken once those
        # were all acknowledged (or refused), so that the merge sees their rows
        intake_before = marked_before - (self.mark_cache + ACK_WITHIN + 1) * 1_000_000 if self.mark_cache \
            else marked_before
        with ThreadPoolExecutor(REFRESH_THREADS) as pool:  # each refresh waits on a few round trips
            for shard in random.sample(range(SHARDS), SHARDS):
                if done >= limit:
                    break
                found = list(self.db.session.execute(self.db.prepare(MARKS), (shard,), execution_profile=RAW_PROFILE))
                self.seen += len(found)
                marks = [tuple(mark[:3]) for mark in found
                         if mark[3] <= (intake_before if mark[1] == INTAKE else marked_before)]
                random.shuffle(marks)
                self.backlog[shard] = len(marks)
                for start in range(0, len(marks), GROUP):
                    if done >= limit or not keep_going():
                        return done
                    done += self.refresh_group(pool, shard, marks[start:start + min(GROUP, limit - done)])
                    self.backlog[shard] = max(0, len(marks) - start - GROUP)
                if not keep_going():
                    break
        return done

    def refresh_group(self, pool: ThreadPoolExecutor, shard: int, marks: list[tuple[str, str, int]]) -> int:
        """Recompute the marked partitions that no other instance has done meanwhile (checked with one read for
        the group), then clear their marks in one batch; returns how many."""
        rows = self.db.session.execute(self.db.prepare(MARKS_NOW), (shard, marks), execution_profile=RAW_PROFILE)
        current = {tuple(row[:3]): row[3] for row in rows}
        due = list(pool.map(lambda mark: self.refresh_mark(*mark, current[mark]), current))
        unmark, again = self.db.prepare(UNMARK), self.db.prepare(MARK_AT)
        batch = BatchStatement(batch_type=BatchType.UNLOGGED)
        for ((name, sid, bucket), timestamp), ready in zip(current.items(), due):
            batch.add(unmark, (timestamp, shard, name, sid, bucket))
            if ready is not None:  # marked again as of when its young chunks can be compacted: a pass then
                batch.add(again, (shard, name, sid, bucket, max(ready * 1000, timestamp + 1)))
        if current:
            self.db.session.execute(batch)
        with self._lock:  # a write of this process after this marks anew (a worker given settle < SETTLE: tests)
            for key in current:
                self._marked.pop(key, None)
        return len(current)

    def refresh_mark(self, name: str, sid: str, bucket: int, timestamp: int) -> int | None:
        metric = self.registry.get(name)
        if metric is None:  # the metric was deleted with its points: only the mark is left to clear
            return None
        return self.refresh(metric, sid, bucket, timestamp)


def stacked(blobs: list[bytes], buckets: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Stored rows (each a table of the rollup columns by hour of its bucket, count 0 for an hour without
    points; one length for a metric) as the columns of their non-empty hours, each row's hours in order, and
    the row each comes from."""
    tables = np.frombuffer(b"".join(blobs), dtype="<f8").reshape(len(blobs), len(ROLLUP_COLUMNS), -1) if blobs \
        else np.zeros((0, len(ROLLUP_COLUMNS), 0))
    rows, hours = np.nonzero(tables[:, 0, :] > 0)
    columns = {"start": buckets[rows] + hours * HOUR_MS}
    for i, name in enumerate(ROLLUP_COLUMNS):
        column = tables[rows, i, hours]
        columns[name] = column.astype(np.int64) if name in INT_COLUMNS else column
    return rows, columns


class RollupWorker(threading.Thread):
    """Keeps rollups current in the background of one serving process. Requests come first: while the process
    is busy serving, passes wait (and a pass under way stops), for up to `max_defer` seconds, so that a burst of
    writes does not share the CPU with recomputing what it wrote; queries read those series raw meanwhile.

    An idle process looks less often: each pass that finds no mark at all doubles the pause, up to
    MAX_IDLE_PAUSE, and a mark of its own process wakes it at once. A pass reads every shard, 32 reads a second
    per instance at the base pause, and a query arriving meanwhile shared the process and Cassandra with it
    (issue 22: the small PromQL queries were measured slower on instances doing these passes). Marks another
    process makes are that process's worker's to take first; an idle one takes them within MAX_IDLE_PAUSE."""

    def __init__(self, rollups: Rollups, pause: float = 1.0, settle: float = SETTLE,
                 busy: Callable[[], bool] = lambda: False, max_defer: float = MAX_DEFER):
        super().__init__(name="rollups", daemon=True)
        self.rollups = rollups
        self.pause, self.settle = pause, settle
        self.busy, self.max_defer = busy, max_defer
        self.stopping = threading.Event()

    def run(self) -> None:
        last_pass, pause = time.monotonic(), self.pause
        while not self.stopping.is_set():
            overdue = time.monotonic() - last_pass >= self.max_defer
            if self.busy() and not overdue:
                self.stopping.wait(BUSY_POLL)
                continue
            try:
                def keep_going(late=overdue) -> bool:
                    return late or not self.busy()

                self.rollups.marked.clear()
                done = self.rollups.run_once(settle=self.settle, keep_going=keep_going)
                last_pass = time.monotonic()
                if done:
                    continue
                pause = self.pause if self.rollups.seen else min(2 * pause, max(self.pause, MAX_IDLE_PAUSE))
            except Exception as error:
                log.warning("rollup pass failed (will retry): %s", one_line(error))
                pause = self.pause
            self.rollups.marked.wait(pause)

    def stop(self) -> None:
        self.stopping.set()
        self.rollups.marked.set()
