"""The metric registry and the series index: which metrics exist, and which label sets each one has."""
import hashlib
import random
import time
import uuid
from datetime import UTC, datetime

import orjson
from cassandra import WriteTimeout
from cassandra.protocol import ErrorMessage

from metrics_server.model import Metric
from metrics_server.storage.db import RAW_PROFILE, READ_PROFILE, Database, unlogged_batches

CACHE_SECONDS = 5.0
COUNT_SECONDS = 30.0
LOOKUP_BATCH = 100
INDEX_BATCH = 100
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

    def __init__(self, db: Database):
        self.db = db
        self._metrics: dict[str, tuple[float, Metric | None]] = {}
        self._known_series: set[tuple[uuid.UUID, str]] = set()
        self._counts: dict[str, tuple[float, int]] = {}

    def all(self, search: str = "") -> list[Metric]:
        rows = self.db.session.execute(
            self.db.prepare("SELECT * FROM {ks}.metrics"), execution_profile=READ_PROFILE)
        metrics = sorted((_metric(row) for row in rows), key=lambda metric: metric.name)
        needle = search.lower()
        return [metric for metric in metrics if needle in metric.name.lower()
                or needle in metric.description.lower()] if needle else metrics

    def get(self, name: str, fresh: bool = False) -> Metric | None:
        cached = self._metrics.get(name)
        if cached and not fresh and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        row = self.db.session.execute(self.db.prepare("SELECT * FROM {ks}.metrics WHERE name = ?"), (name,),
                                      execution_profile=READ_PROFILE).one()
        metric = _metric(row) if row else None
        self._metrics[name] = (time.monotonic(), metric)
        return metric

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
            self._metrics[metric.name] = (time.monotonic(), metric)
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
        """Remove a metric, its series and every point partition it has; returns the partitions dropped."""
        session = self.db.session
        partitions = list(session.execute(self.db.prepare(
            "SELECT series_id, bucket FROM {ks}.partitions WHERE metric = ?"), (metric.name,)))
        drop = self.db.prepare("DELETE FROM {ks}.chunks WHERE metric = ? AND series_id = ? AND bucket = ?")
        self.db.execute_all([(drop, (metric.name, row.series_id, row.bucket)) for row in partitions],
                            f"deleting the points of {metric.name}")
        for table in ("partitions", "series", "metrics"):
            column = "name" if table == "metrics" else "metric"
            session.execute(self.db.prepare(f"DELETE FROM {{ks}}.{table} WHERE {column} = ?"), (metric.name,))
        self._metrics.pop(metric.name, None)
        return len(partitions)

    def series(self, metric: Metric) -> list[tuple[str, dict[str, str]]]:
        """Every (series id, labels) of a metric: one partition read, never a data scan."""
        rows = self.db.session.execute(self.db.prepare(
            "SELECT series_id, labels FROM {ks}.series WHERE metric = ?"), (metric.name,),
            execution_profile=READ_PROFILE)
        return sorted(((row.series_id, dict(row.labels or {})) for row in rows),
                      key=lambda item: sorted(item[1].items()))

    def unknown_series(self, metric: Metric, sids: list[str]) -> list[str]:
        """The series of `sids` not in the index yet; known ones cost nothing, the rest one read per 100."""
        fresh = [sid for sid in sids if (metric.id, sid) not in self._known_series]
        if not fresh:
            return []
        select = self.db.prepare("SELECT series_id FROM {ks}.series WHERE metric = ? AND series_id IN ?")
        results = self.db.execute_all([(select, (metric.name, fresh[start:start + LOOKUP_BATCH]))
                                       for start in range(0, len(fresh), LOOKUP_BATCH)],
                                      f"looking up the series of {metric.name}", RAW_PROFILE)
        found = {row[0] for rows in results for row in rows}
        self._known_series.update((metric.id, sid) for sid in found)
        return [sid for sid in fresh if sid not in found]

    def series_count(self, metric: Metric) -> int:
        """How many series a metric has, counted at most every COUNT_SECONDS per process (plus those this
        process added since): a bound for max_series_per_metric, exact to what other instances added lately."""
        cached = self._counts.get(metric.name)
        if cached and time.monotonic() - cached[0] < COUNT_SECONDS:
            return cached[1]
        count = self.db.session.execute(self.db.prepare("SELECT COUNT(*) FROM {ks}.series WHERE metric = ?"),
                                        (metric.name,), execution_profile=RAW_PROFILE).one()[0]
        self._counts[metric.name] = (time.monotonic(), count)
        return count

    def buckets(self, metric: Metric, series_ids: list[str], start_ms: int, end_ms: int) -> dict[str, list[int]]:
        """The time buckets (partition starts, ms) of each series that may hold points in [start, end): every
        one for a range of a few buckets (reading an empty partition costs less than a round trip to the index
        first), else the stored ones, from one read of the index partition (a row per series and bucket)."""
        first = start_ms - start_ms % metric.partition_ms
        if end_ms - first <= DIRECT_BUCKETS * metric.partition_ms:
            return {sid: list(range(first, end_ms, metric.partition_ms)) for sid in series_ids}
        rows = self.db.session.execute(self.db.prepare(
            "SELECT series_id, toUnixTimestamp(bucket) FROM {ks}.partitions WHERE metric = ?"), (metric.name,),
            execution_profile=RAW_PROFILE)
        found: dict[str, list[int]] = {sid: [] for sid in series_ids}
        low = start_ms - metric.partition_ms
        for sid, bucket in rows:
            if sid in found and low < bucket < end_ms:
                found[sid].append(bucket)
        return found

    def index(self, metric: Metric, series: dict[str, dict[str, str]], partitions: set[tuple[str, int]]) -> None:
        """Record new series and partitions before their points, so every stored point is reachable."""
        new_series = [(sid, labels) for sid, labels in series.items() if (metric.id, sid) not in self._known_series]
        new_partitions = [(sid, bucket) for sid, bucket in partitions if (metric.id, f"{sid}@{bucket}")
                          not in self._known_series]
        if not new_series and not new_partitions:
            return
        add_series = self.db.prepare("INSERT INTO {ks}.series (metric, series_id, labels) VALUES (?, ?, ?)")
        add_partition = self.db.prepare("INSERT INTO {ks}.partitions (metric, series_id, bucket) VALUES (?, ?, ?)")
        rows = [(add_series, (metric.name, sid, labels)) for sid, labels in new_series]
        rows += [(add_partition, (metric.name, sid, datetime.fromtimestamp(bucket / 1000, UTC)))
                 for sid, bucket in new_partitions]
        self.db.execute_all(unlogged_batches(rows, INDEX_BATCH), f"indexing the series of {metric.name}")
        self._known_series.update((metric.id, sid) for sid, _ in new_series)
        if metric.name in self._counts:
            counted_at, count = self._counts[metric.name]
            self._counts[metric.name] = (counted_at, count + len(new_series))
        self._known_series.update((metric.id, f"{sid}@{bucket}") for sid, bucket in new_partitions)
