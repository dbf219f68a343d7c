"""The metric registry and the series index: which metrics exist, which label sets each one has, and which
time buckets hold its points. Every index partition is bounded (storage/series_index.py says how and why)."""
import hashlib
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import orjson
from cassandra import WriteTimeout
from cassandra.protocol import ErrorMessage

from metrics_server.model import Metric
from metrics_server.storage.db import RAW_PROFILE, READ_PROFILE, Database, unlogged_batches
from metrics_server.storage.series_index import (
    MAX_POSTING_VALUES,
    SHARDS,
    Matcher,
    SelectionCache,
    postings_plan,
    shard_of_series,
    shard_of_value,
)

CACHE_SECONDS = 5.0
METRIC = "SELECT * FROM {ks}.metrics WHERE name = ?"
DELETED_SECONDS = 60  # how long a deletion is remembered for writes: far past CACHE_SECONDS
COUNT_SECONDS = 30.0
LOOKUP_BATCH = 100
VALUES_IN = 100  # label values whose postings one read asks for (a 100-host chart: 16 reads, not 1,600)
POSTINGS = "SELECT series_id, labels FROM {ks}.postings WHERE metric = ? AND key = ? AND value IN ? AND shard IN ?"
# Shards a selection's read names at once (`shard IN ?`): 4 requests where a request per shard was 16 (and 16 per
# 100 values of postings), whose driver work made a selection not in the cache cost more than the rest of a small
# PromQL query. Not all 16 in one request: the coordinator returns one request's pages one after another, and a
# metric of 200,000 series is 40 pages of index rows.
SHARDS_IN = 4
# ... except when the rows are known to be few: a cached selection's check, sent beside a PromQL query's points
# once the selection is older than the cache's seconds (Registry.select_soon), reads every shard in one request:
# one page, where 4 requests cost the driver and the request thread 4 responses beside the points' one (an
# instance behind nginx sees a dashboard's query every ~8-15 s in the bench: that check on every query)
FEW_ROWS = 1_000
INDEX_BATCH = 32  # rows per unlogged batch, sorted by partition so that most batches hold one or two
INDEX_RETRIES = 2  # index rows are idempotent inserts: a batch that timed out is sent again (a 10,000-series
# write on a loaded machine had 7 of 1,251 index batches time out)
CAS_ATTEMPTS = 5
CAS_WRITE_UNKNOWN = 0x1700  # protocol v5: a contended lightweight transaction whose outcome is not known
DIRECT_BUCKETS = 31  # a read of up to this many buckets per series skips the partition index


def series_id(labels: dict[str, str]) -> str:
    """A stable id for a label set, the same in every process, so rewrites land on the same rows."""
    return hashlib.blake2b(orjson.dumps(labels, option=orjson.OPT_SORT_KEYS), digest_size=8).hexdigest()


def _metric(row) -> Metric:
    created = row.created_at.replace(tzinfo=UTC) if row.created_at else datetime.now(UTC)
    return Metric(name=row.name, type=row.type, label_keys=tuple(row.label_keys or ()), unit=row.unit or "",
                  description=row.description or "", id=row.id, created_at=created,
                  retention_days=row.retention_days or 0, partition_hours=row.partition_hours or 24,
                  open_labels=bool(row.open_labels))


class Registry:
    """Metrics and their series, with a short per-process cache so ingest does not re-read them per request."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.monotonic):
        self.db = db
        self.clock = clock  # what the caches' ages are measured by (seconds)
        self._metrics: dict[str, tuple[float, Metric | None]] = {}
        self._known_series: set[tuple[uuid.UUID, str]] = set()
        self._known_buckets: set[tuple[uuid.UUID, int]] = set()
        self._counts: dict[str, tuple[float, int]] = {}
        self.selections = SelectionCache()

    def all(self, search: str = "") -> list[Metric]:
        rows = self.db.session.execute(
            self.db.prepare("SELECT * FROM {ks}.metrics"), execution_profile=READ_PROFILE)
        metrics = sorted((_metric(row) for row in rows), key=lambda metric: metric.name)
        needle = search.lower()
        return [metric for metric in metrics if needle in metric.name.lower()
                or needle in metric.description.lower()] if needle else metrics

    def get(self, name: str, fresh: bool = False) -> Metric | None:
        cached = self._metrics.get(name)
        if cached and not fresh and self.clock() - cached[0] < CACHE_SECONDS:
            return cached[1]
        read_at = self.clock()
        row = self.db.session.execute(self.db.prepare(METRIC), (name,), execution_profile=READ_PROFILE).one()
        metric = _metric(row) if row else None
        self._metrics[name] = (read_at, metric)
        return metric

    def get_soon(self, name: str) -> tuple[Metric | None, Callable[[], bool]]:
        """The metric as `get` answers it, except that a definition cached longer than CACHE_SECONDS is answered
        as it was, its row's read only sent; and a check, to call once the caller has sent its own first reads,
        that says whether the answer is still the metric's definition. So a query whose instance last saw its
        metric a while ago (one of 4 behind nginx, a dashboard refreshing every 10 s) spends one round trip on
        the definition and its points together, not one after the other."""
        cached = self._metrics.get(name)
        if cached is None or cached[1] is None or self.clock() - cached[0] < CACHE_SECONDS:
            return self.get(name), lambda: True
        read_at, known = self.clock(), cached[1]
        future = self.db.session.execute_async(self.db.prepare(METRIC), (name,), execution_profile=READ_PROFILE)

        def still() -> bool:
            row = future.result().one()
            metric = _metric(row) if row else None
            self._metrics[name] = (read_at, metric)
            return metric is not None and replace(metric, created_at=known.created_at) == known
        return known, still

    def create(self, metric: Metric) -> tuple[bool, Metric]:
        """Insert unless the name exists (a lightweight transaction, so two instances cannot both win).
        Instances creating one name at once contend: an unknown CAS outcome is asked again, and the retry
        answers either 'applied' or the row that won (ours, when our first proposal had landed after all)."""
        insert = self.db.prepare(
            "INSERT INTO {ks}.metrics (name, id, type, label_keys, unit, description, created_at, retention_days,"
            " partition_hours, open_labels) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS")
        values = (metric.name, metric.id, metric.type, list(metric.label_keys), metric.unit, metric.description,
                  metric.created_at, metric.retention_days, metric.partition_hours, metric.open_labels)
        for attempt in range(CAS_ATTEMPTS):
            try:
                result = self.db.session.execute(insert, values)
                break
            except (WriteTimeout, ErrorMessage) as error:
                contended = isinstance(error, WriteTimeout) or getattr(error, "code", None) == CAS_WRITE_UNKNOWN
                if not contended or attempt == CAS_ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0.02, 0.1) * (attempt + 1))
        if result.was_applied:
            self._metrics[metric.name] = (self.clock(), metric)
            return True, metric
        return False, self.get(metric.name, fresh=True) or metric

    def add_label_keys(self, metric: Metric, keys: set[str]) -> Metric:
        """The metric with `keys` among its label keys, for metrics whose label sets vary (ALERTS: each rule
        brings its own labels); a series without a key stores it empty, which PromQL reads as absent."""
        wanted = sorted(set(metric.label_keys) | keys)
        self.db.session.execute(self.db.prepare(
            "UPDATE {ks}.metrics SET label_keys = ? WHERE name = ? IF label_keys = ?"),
            (wanted, metric.name, list(metric.label_keys)))
        return self.get(metric.name, fresh=True)

    def delete(self, metric: Metric) -> int:
        """Remove a metric, its series and its index (the points are PointStore.drop's: first, while the
        metric's buckets are still listed); returns how many series it had. Every delete is concurrent."""
        name = metric.name
        everything = self.series(metric, cached=False)
        values = {(key, value, shard_of_series(sid)) for sid, labels in everything for key, value in labels.items()}
        deletes = [("DELETE FROM {ks}.postings WHERE metric = ? AND key = ? AND value = ? AND shard = ?",
                    (name, key, value, shard)) for key, value, shard in values]
        deletes += [("DELETE FROM {ks}.series_index WHERE metric = ? AND shard = ?", (name, shard))
                    for shard in range(SHARDS)]
        deletes += [("DELETE FROM {ks}.label_values WHERE metric = ? AND key = ? AND shard = ?", (name, key, shard))
                    for key in {key for _, labels in everything for key in labels} for shard in range(SHARDS)]
        self.db.execute_all([(self.db.prepare(cql), values) for cql, values in deletes], f"deleting {name}")
        for table, column in (("metric_buckets", "metric"), ("metrics", "name")):
            self.db.session.execute(self.db.prepare(f"DELETE FROM {{ks}}.{table} WHERE {column} = ?"), (name,))
        self._metrics.pop(name, None)
        self._counts.pop(name, None)
        self.selections.forget(metric.id)
        return len(everything)

    def retype(self, names: list[str], old: str, new: str) -> list[str]:
        """Make the metrics among `names` that a protocol created (open labels) with type `old` of type `new`, each
        only if still `old` (a lightweight transaction); returns those changed. One read per 100 names."""
        rows = self.read_all([("SELECT name, type, open_labels FROM {ks}.metrics WHERE name IN ?",
                               (names[first:first + LOOKUP_BATCH],)) for first in range(0, len(names), LOOKUP_BATCH)])
        update = self.db.prepare("UPDATE {ks}.metrics SET type = ? WHERE name = ? IF type = ?")
        changed = [name for name, kind, open_labels in rows if kind == old and open_labels
                   and self.db.session.execute(update, (new, name, old)).was_applied]
        for name in changed:
            self._metrics.pop(name, None)
        return changed

    def record_deletion(self, metric: Metric) -> None:
        """Remember for DELETED_SECONDS that this metric (by id) is deleted, before its points are dropped, so that
        a write another instance's cache let into it sees it (`deleted`)."""
        self.db.session.execute(self.db.prepare(
            "INSERT INTO {ks}.deleted_metrics (scope, name, id) VALUES ('recent', ?, ?) USING TTL ?"),
            (metric.name, metric.id, DELETED_SECONDS))

    def deleted(self, metrics: list[Metric]) -> list[Metric]:
        """Those of the metrics (as this process knew them) deleted meanwhile: one small read. A write that
        stored points asks after storing them, so either the deletion's drop came after them, or it sees the
        deletion here. Forgets them from the cache."""
        rows = self.db.session.execute(self.db.prepare(
            "SELECT name, id FROM {ks}.deleted_metrics WHERE scope = 'recent'"), execution_profile=RAW_PROFILE)
        gone = set(rows)
        found = [metric for metric in metrics if (metric.name, metric.id) in gone]
        for metric in found:
            self._metrics.pop(metric.name, None)
        return found

    @staticmethod
    def as_time(bucket_ms: int) -> datetime:
        return datetime.fromtimestamp(bucket_ms / 1000, UTC)

    def read_all(self, queries: list[tuple[str, tuple]]) -> list:
        """Rows of many index reads at once (tuples)."""
        return [row for rows in self.read_each(queries) for row in rows]

    def read_each(self, queries: list[tuple[str, tuple]]) -> list:
        """Many index reads at once: each one's rows, in the order of the queries."""
        return self.db.execute_all([(self.db.prepare(cql), values) for cql, values in queries],
                                   "reading the series index", RAW_PROFILE)

    def series(self, metric: Metric, cached: bool = True) -> list[tuple[str, dict[str, str]]]:
        """Every (series id, labels) of a metric, ordered by labels: its index partitions read (or the cache)."""
        return self.select(metric, (), cached)

    def select(self, metric: Metric, matchers: tuple[Matcher, ...],
               cached: bool = True) -> list[tuple[str, dict[str, str]]]:
        """The series whose labels satisfy every matcher, ordered by labels. Reads the postings of the matcher
        that names the fewest values (or of the few label values a regex matches), never every label set
        unless no matcher narrows; checks the other matchers on the labels in hand. Cached per process."""
        return self.select_many([metric], matchers, cached)[0]

    def select_many(self, metrics: list[Metric], matchers: tuple[Matcher, ...],
                    cached: bool = True) -> list[list[tuple[str, dict[str, str]]]]:
        """`select` of each metric, the index reads of all of them sent at once: a selector with no metric name
        visits every metric, and one metric after another, the compliance tester's `{type="free"}` over a
        keyspace of a test session's metrics passed its 10 s."""
        keys = [selection_key(metric, matchers) for metric in metrics]
        found = [self.selections.get(key) if cached else None for key in keys]
        missing = [position for position, selection in enumerate(found) if selection is None]
        reads = [self.candidate_reads(metrics[position], matchers) for position in missing]
        results = iter(self.read_each([query for queries in reads for query in queries]))
        for position, queries in zip(missing, reads):
            found[position] = matching([next(results) for _ in queries], matchers)
            self.selections.put(keys[position], found[position])
        return found

    def select_soon(self, metrics: list[Metric], matchers: tuple[Matcher, ...]
                    ) -> tuple[list[list[tuple[str, dict[str, str]]]], Callable[[], bool]]:
        """`select_many`, except that a selection cached longer than the cache's seconds is answered as it was, its
        index reads only sent; and a check, to call once the caller has sent its own first reads, that says
        whether the answer is still every metric's selection (as `get_soon`: one round trip for the selection
        and the points together)."""
        keys = [selection_key(metric, matchers) for metric in metrics]
        cached = [self.selections.aged(key) for key in keys]
        late = [position for position, item in enumerate(cached) if item is not None and not item[1]]
        unknown = iter(self.select_many([metric for metric, item in zip(metrics, cached) if item is None], matchers))
        found = [next(unknown) if item is None else item[0] for item in cached]
        sent = [(position, [self.db.session.execute_async(self.db.prepare(cql), values, execution_profile=RAW_PROFILE)
                            for cql, values in self.candidate_reads(metrics[position], matchers,
                                                                    expected=len(cached[position][0]))])
                for position in late]

        def still() -> bool:
            same = True
            for position, futures in sent:
                selection = matching([future.result() for future in futures], matchers)
                self.selections.put(keys[position], selection)
                same = same and selection == found[position]
            return same
        return found, still

    def candidate_reads(self, metric: Metric, matchers: tuple[Matcher, ...],
                        expected: int | None = None) -> list[tuple[str, tuple]]:
        """The index reads of the series that may match: the postings of one matcher, or every series of the
        metric (a regex's accepted values are looked up first, when few); `expected`: how many rows the caller
        expects (see shard_groups)."""
        chosen = postings_plan(matchers)
        values = chosen.positive_values if chosen else None
        if chosen is None:
            for matcher in matchers:
                if matcher.op == "=~":
                    accepted = [value for value in self.label_values(metric, matcher.key)
                                if matcher.matches({matcher.key: value})]
                    if len(accepted) <= MAX_POSTING_VALUES and not matcher.matches({}):
                        chosen, values = matcher, accepted
                        break
        if chosen is None:
            return [("SELECT series_id, labels FROM {ks}.series_index WHERE metric = ? AND shard IN ?",
                     (metric.name, shards)) for shards in shard_groups(expected)]
        values = list(values)
        return [(POSTINGS, (metric.name, chosen.key, values[first:first + VALUES_IN], shards))
                for first in range(0, len(values), VALUES_IN) for shards in shard_groups(expected)]

    def label_values(self, metric: Metric, key: str) -> list[str]:
        """The values a label key takes in a metric, sorted: SHARDS small partitions, SHARDS_IN a read."""
        rows = self.read_all([("SELECT value FROM {ks}.label_values WHERE metric = ? AND key = ? AND shard IN ?",
                               (metric.name, key, shards)) for shards in shard_groups()])
        return sorted(row[0] for row in rows)

    def page(self, metric: Metric, limit: int, after: tuple[int, str] | None) -> tuple[list, tuple[int, str] | None]:
        """Up to `limit` (series id, labels) in index order (shard, then id) after a cursor, and the next cursor
        (None at the end): a page of 200,000 series costs its own rows, never the whole index."""
        shard, last = after if after else (0, "")
        found: list[tuple[str, dict]] = []
        select = self.db.prepare("SELECT series_id, labels FROM {ks}.series_index WHERE metric = ? AND shard = ?"
                                 " AND series_id > ? LIMIT ?")
        while shard < SHARDS:
            rows = self.db.session.execute(select, (metric.name, shard, last, limit - len(found)),
                                           execution_profile=RAW_PROFILE)
            found += [(sid, dict(labels or {})) for sid, labels in rows]
            if len(found) >= limit:
                return found, (shard, found[-1][0])
            shard, last = shard + 1, ""
        return found, None

    def unknown_series(self, metric: Metric, sids: list[str]) -> list[str]:
        """The series of `sids` not in the index yet; known ones cost nothing, the rest one read per 100 of a
        shard."""
        fresh = [sid for sid in sids if (metric.id, sid) not in self._known_series]
        if not fresh:
            return []
        by_shard: dict[int, list[str]] = {}
        for sid in fresh:
            by_shard.setdefault(shard_of_series(sid), []).append(sid)
        rows = self.read_all([("SELECT series_id FROM {ks}.series_index WHERE metric = ? AND shard = ? AND "
                               "series_id IN ?", (metric.name, shard, group[start:start + LOOKUP_BATCH]))
                              for shard, group in by_shard.items() for start in range(0, len(group), LOOKUP_BATCH)])
        found = {row[0] for row in rows}
        self._known_series.update((metric.id, sid) for sid in found)
        return [sid for sid in fresh if sid not in found]

    def series_count(self, metric: Metric, exact_from: int) -> int:
        """How many series a metric has, for max_series_per_metric. A count below `exact_from` is read at most
        every COUNT_SECONDS per process (plus the series this process added since), so that far from the limit
        a write with new series costs no count; from `exact_from` on it is read every time, because other
        instances may have added series since."""
        cached = self._counts.get(metric.name)
        if cached and self.clock() - cached[0] < COUNT_SECONDS and cached[1] < exact_from:
            return cached[1]
        rows = self.read_all([("SELECT COUNT(*) FROM {ks}.series_index WHERE metric = ? AND shard = ?",
                               (metric.name, shard)) for shard in range(SHARDS)])
        count = sum(row[0] for row in rows)
        self._counts[metric.name] = (self.clock(), count)
        return count

    def metric_buckets(self, metric: Metric, start_ms: int | None = None, end_ms: int | None = None) -> list[int]:
        """The time buckets in which any series of the metric has points (one small partition: a row a bucket)."""
        rows = self.db.session.execute(self.db.prepare(
            "SELECT toUnixTimestamp(bucket) FROM {ks}.metric_buckets WHERE metric = ?"), (metric.name,),
            execution_profile=RAW_PROFILE)
        return [bucket for (bucket,) in rows if (start_ms is None or bucket > start_ms - metric.partition_ms)
                and (end_ms is None or bucket < end_ms)]

    def buckets(self, metric: Metric, series_ids: list[str], start_ms: int, end_ms: int) -> dict[str, list[int]]:
        """The time buckets (partition starts, ms) to read for each series in [start, end): every one for a
        range of a few buckets (reading an empty partition costs less than a round trip to the index first),
        else those in which the metric has any points (so an 8,000-year range over a month costs a month)."""
        first = start_ms - start_ms % metric.partition_ms
        if end_ms - first <= DIRECT_BUCKETS * metric.partition_ms:
            every = list(range(first, end_ms, metric.partition_ms))
        else:
            every = self.metric_buckets(metric, start_ms, end_ms)
        return {sid: every for sid in series_ids}

    def index(self, metric: Metric, series: dict[str, dict[str, str]], buckets: set[int]) -> None:
        """Record new series (label set, postings, label values) and new time buckets before their points, so
        every stored point is reachable; what this process indexed before costs nothing."""
        new_series = [(sid, labels) for sid, labels in series.items() if (metric.id, sid) not in self._known_series]
        new_buckets = sorted(bucket for bucket in buckets if (metric.id, bucket) not in self._known_buckets)
        if not new_series and not new_buckets:
            return
        name = metric.name
        rows = [("INSERT INTO {ks}.series_index (metric, shard, series_id, labels) VALUES (?, ?, ?, ?)",
                 (name, shard_of_series(sid), sid, labels)) for sid, labels in new_series]
        rows += [("INSERT INTO {ks}.postings (metric, key, value, shard, series_id, labels) VALUES (?, ?, ?, ?, ?, ?)",
                  (name, key, value, shard_of_series(sid), sid, labels))
                 for sid, labels in new_series for key, value in labels.items()]
        rows += [("INSERT INTO {ks}.label_values (metric, key, shard, value) VALUES (?, ?, ?, ?)",
                  (name, key, shard_of_value(value), value))
                 for key, value in {pair for _, labels in new_series for pair in labels.items()}]
        rows += [("INSERT INTO {ks}.metric_buckets (metric, bucket) VALUES (?, ?)", (name, self.as_time(bucket)))
                 for bucket in new_buckets]
        rows.sort(key=lambda row: (row[0], row[1][:4]))
        self.db.execute_all(unlogged_batches([(self.db.prepare(cql), values) for cql, values in rows], INDEX_BATCH),
                            f"indexing the series of {name}", retries=INDEX_RETRIES)
        self._known_series.update((metric.id, sid) for sid, _ in new_series)
        self._known_buckets.update((metric.id, bucket) for bucket in new_buckets)
        if new_series:
            self.selections.forget(metric.id)
            if name in self._counts:
                counted_at, count = self._counts[name]
                self._counts[name] = (counted_at, count + len(new_series))


def selection_key(metric: Metric, matchers: tuple[Matcher, ...]) -> tuple:
    return metric.id, tuple(sorted(matchers, key=repr))


def matching(results: list, matchers: tuple[Matcher, ...]) -> list[tuple[str, dict[str, str]]]:
    """(series id, labels) of the index rows read (each read's rows) that every matcher accepts, by labels."""
    candidates = ((sid, dict(labels or {})) for rows in results for sid, labels in rows)
    return sorted(((sid, labels) for sid, labels in candidates if all(m.matches(labels) for m in matchers)),
                  key=lambda item: sorted(item[1].items()))


def shard_groups(expected: int | None = None) -> list[list[int]]:
    """Every shard of an index table, SHARDS_IN a read, or all in one when the rows `expected` are few."""
    per = SHARDS if expected is not None and expected <= FEW_ROWS else SHARDS_IN
    return [list(range(first, min(first + per, SHARDS))) for first in range(0, SHARDS, per)]
