"""The one gateway from every read to storage (VictoriaMetrics' netstorage, Prometheus' Querier.Select): which
metrics the asker may see, series selection from the postings, where each series' points are (its partitions),
the raw-or-hourly choice with the rollups being recomputed, the query budget (partition reads, max_query_reads)
and the deadline (query_timeout). /api/query (query/engine.py), PromQL (query/promsource.py), remote_read, the
raw-data endpoints and alerting all read through one Gateway per request or evaluation, so a limit or a storage
rule holds for every dialect alike. Takes the stores as arguments, no Flask.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from metrics_server.auth.policy import may_touch
from metrics_server.limits import QueryLimits, deadline
from metrics_server.model import ROLLUP_AGGS, ROLLUP_TYPES, Metric
from metrics_server.query.aggregate import points_as_rows
from metrics_server.storage.series_index import SHARDS

if TYPE_CHECKING:  # the stores are passed in; the gateway only calls their read methods
    from collections.abc import Sequence

    from metrics_server.storage.points import PointStore, SeriesPoints
    from metrics_server.storage.registry import Registry
    from metrics_server.storage.rollups import Rollups
    from metrics_server.storage.series_index import Matcher

Buckets = dict[str, list[int]]  # the partition starts (ms) to read, per series id


class Gateway:
    """One query's view of storage: the metrics its token's prefixes cover, and the reads it has made so far
    (`reads`, against `limits.max_reads`). Without rollups (`rollups=None`) every answer comes from raw points."""

    def __init__(self, registry: Registry, points: PointStore, rollups: Rollups | None = None,
                 limits: QueryLimits | None = None, prefixes: tuple[str, ...] = ()):
        self.registry = registry
        self.points = points
        self.rollups = rollups
        self.limits = limits or QueryLimits()
        self.prefixes = prefixes  # the metric name prefixes the asker is limited to: others do not exist for it
        self.reads = 0
        self.checks: list[Callable[[], bool]] = []  # of what `metrics` and `select_many` answered `soon`

    def deadline(self):
        """The context within which this query's work must finish (QueryTimeout past query_timeout)."""
        return deadline(self.limits.timeout)

    @staticmethod
    def cost(buckets: Buckets, raw: bool = True) -> int:
        """The Cassandra reads of these partitions, as charged: one per series and bucket, and for raw points one
        more per bucket, its intake rows not merged yet (storage/intake.py)."""
        intake = len({bucket for starts in buckets.values() for bucket in starts}) if raw else 0
        return sum(map(len, buckets.values())) + intake

    def charge(self, reads: int) -> None:
        """Count Cassandra partition reads before they happen; a query past max_query_reads is refused (422)."""
        self.reads += reads
        self.limits.check_reads(self.reads)

    # selection

    def visible(self, metric: Metric | None) -> bool:
        return metric is not None and may_touch(self.prefixes, metric.name)

    def metrics(self, name: str | None = None, soon: bool = False) -> list[Metric]:
        """The visible metrics: the one named (one read, cached), or all of them. `soon`: the named one's
        definition possibly as last read, its read only sent (Registry.get_soon); `confirmed` says later whether
        every definition so answered still holds."""
        if name is None:
            candidates = self.registry.all()
        elif soon:
            metric, check = self.registry.get_soon(name)
            self.checks.append(check)
            candidates = [metric]
        else:
            candidates = [self.registry.get(name)]
        return [metric for metric in candidates if self.visible(metric)]

    def confirmed(self) -> bool:
        """Whether the definitions and selections that `metrics` and `select_many` answered `soon` since the last
        call still hold (each read waited for, and then cached)."""
        checks, self.checks = self.checks, []
        return all([check() for check in checks])

    def select(self, metric: Metric, matchers: Sequence[Matcher]) -> list[tuple[str, dict]]:
        """(series id, labels) of the metric's series that every matcher accepts, from the postings."""
        return self.registry.select(metric, tuple(matchers))

    def select_many(self, metrics: list[Metric], matchers: Sequence[Matcher],
                    soon: bool = False) -> list[list[tuple[str, dict]]]:
        """`select` of each metric, their index reads sent together (each metric's charged first). `soon`: a
        selection cached a while ago as it was, its reads only sent (Registry.select_soon; see `confirmed`)."""
        self.charge(SHARDS * len(metrics))  # a selector across 2,000 names read their index for 17 s
        if not soon:
            return self.registry.select_many(metrics, tuple(matchers))
        found, check = self.registry.select_soon(metrics, tuple(matchers))
        self.checks.append(check)
        return found

    def locate(self, metric: Metric, sids: list[str], start_ms: int, end_ms: int) -> Buckets:
        """The partitions that may hold the series' points in [start, end) (not charged: see `charge`)."""
        return self.registry.buckets(metric, sids, start_ms, end_ms)

    # the raw-or-hourly choice

    def hourly(self, metric: Metric, agg: str, whole_hours: bool) -> bool:
        """Whether hourly rollups may answer: the metric has them, the aggregate is one they hold, and every bin
        or window is whole hours (series whose rollups are `pending` are read raw all the same)."""
        return self.rollups is not None and metric.type in ROLLUP_TYPES and agg in ROLLUP_AGGS and whole_hours

    def pending(self, metric: Metric, sids: list[str], start_ms: int, end_ms: int) -> set[str]:
        """The series whose hour rows in [start, end) are being recomputed after a late write: read them raw,
        so that no acknowledged point is missing from an answer."""
        if self.rollups is None:
            return set(sids)
        return {sid for sid, bucket in self.rollups.pending(metric, sids)
                if bucket < end_ms and bucket + metric.partition_ms > start_ms}

    # reads (charged by the caller's plan, or here when it has none)

    def raw(self, metric: Metric, sids: list[str], start_ms: int, end_ms: int, extra: tuple[str, ...] = (),
            buckets: Buckets | None = None) -> dict[str, SeriesPoints]:
        """The points of each series in [start, end); given no planned buckets, located and charged here."""
        return self.points.read(metric, sids, start_ms, end_ms, extra, self.planned(metric, sids, start_ms, end_ms,
                                                                                    buckets, raw=True))

    def rollup_rows(self, metric: Metric, sids: list[str], start_ms: int, end_ms: int,
                    buckets: Buckets | None = None) -> dict[str, dict]:
        """The hour rows of each series in [start, end) (columns start, count, sum, min, max, first, last,
        first_ts, last_ts); given no planned buckets, located and charged here."""
        return self.rollups.read(metric, sids, start_ms, end_ms, self.planned(metric, sids, start_ms, end_ms,
                                                                              buckets, raw=False))

    def planned(self, metric: Metric, sids: list[str], start_ms: int, end_ms: int,
                buckets: Buckets | None, raw: bool) -> Buckets:
        if buckets is None:
            buckets = self.locate(metric, sids, start_ms, end_ms)
            self.charge(self.cost(buckets, raw))
        return buckets

    def columns(self, metric: Metric, sids: list[str], buckets: Buckets, start_ms: int, end_ms: int,
                hourly: bool, stale: set[str]) -> Iterator[tuple[np.ndarray, dict]]:
        """(each row's position in sids, rollup columns) a slice of partitions at a time, for folding across
        thousands of series in bounded memory: hour rows of the series whose rollups answer, raw points as
        one-point rows of the others."""
        rolled = [i for i, sid in enumerate(sids) if hourly and sid not in stale]
        raw = [i for i, sid in enumerate(sids) if not hourly or sid in stale]
        if rolled:
            chosen = np.array(rolled, dtype=np.int64)
            for series, rows in self.rollups.columns(metric, [sids[i] for i in rolled], buckets, start_ms, end_ms):
                yield chosen[series], rows
        if raw:
            chosen = np.array(raw, dtype=np.int64)
            for series, ts, values in self.points.columns(metric, [sids[i] for i in raw], buckets, start_ms, end_ms):
                present = ~np.isnan(values)
                yield chosen[series[present]], points_as_rows(ts[present], values[present])

    def in_order(self, metric: Metric, sids: list[str], start_ms: int, end_ms: int,
                 enough: Callable[[dict[str, SeriesPoints]], bool] | None = None) -> dict[str, SeriesPoints]:
        """Raw points (with the type's extra cells) within the read budget and the deadline; with `enough`, read
        in time order until it says the points so far fill the page: `limit` on raw reads stops reading once
        reached, where it once read every series' whole history first (issue 10: 18 s for limit=100)."""
        buckets = self.locate(metric, sids, start_ms, end_ms)
        if enough is None:
            self.charge(self.cost(buckets))
        with self.deadline():
            return self.points.read_in_order(metric, sids, start_ms, end_ms, buckets, enough)
