"""The PromQL engine's one gateway to storage (VictoriaMetrics' netstorage): series chosen by label matchers
from the series index, their points read from Cassandra. Takes the stores as arguments, no Flask.

Our metric name is Prometheus' `__name__`; a label with an empty value is absent, as in Prometheus. Only
numeric metrics (gauges and counters) are series to PromQL: an enum's states and a histogram's buckets are
not plain float samples.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from metrics_server.auth.policy import may_touch
from metrics_server.limits import QueryLimits
from metrics_server.model import POINT_END_MS, POINT_MIN_MS, ROLLUP_TYPES, Metric
from metrics_server.promql import HourlySeries, Matcher, RawSeries, TooMuchData
from metrics_server.storage.series_index import SHARDS
from metrics_server.storage.series_index import Matcher as IndexMatcher

if TYPE_CHECKING:  # the stores are passed in; the source only calls their read methods
    from metrics_server.storage.points import PointStore
    from metrics_server.storage.registry import Registry
    from metrics_server.storage.rollups import Rollups

NAME = "__name__"
MAX_SERIES = 10_000  # series one selector may select (a query over more is refused, naming the limit)


class StoreSource:
    """`source(matchers, start_ms, end_ms)` for the engine, plus the series index for /series and /labels."""

    def __init__(self, registry: Registry, points: PointStore, rollups: Rollups | None = None,
                 limits: QueryLimits | None = None, max_series: int = MAX_SERIES, prefixes: tuple[str, ...] = ()):
        self.registry = registry
        self.prefixes = prefixes  # the metric name prefixes the asker is limited to: others do not exist for it
        self.points = points
        self.rollups = rollups
        self.limits = limits
        self.max_series = max_series
        self.reads = 0  # Cassandra partitions this query has read, against limits.max_reads

    def charge(self, reads: int) -> None:
        """Count partition reads before they happen; a query past max_query_reads is refused (422)."""
        self.reads += reads
        if self.limits is not None:
            self.limits.check_reads(self.reads)

    def metrics(self, matchers: tuple[Matcher, ...] = ()) -> list[Metric]:
        """Numeric metrics whose name satisfies the `__name__` matchers (one read when the name is given)."""
        on_name = [m for m in matchers if m.name == NAME]
        exact = next((m.value for m in on_name if m.op == "="), None)
        candidates = [self.registry.get(exact)] if exact is not None else self.registry.all()
        return [metric for metric in candidates if metric is not None and metric.type in ROLLUP_TYPES
                and may_touch(self.prefixes, metric.name) and all(m.matches(metric.name) for m in on_name)]

    def select(self, matchers: tuple[Matcher, ...]) -> list[tuple[Metric, str, dict]]:
        """(metric, series id, Prometheus labels) of every series all matchers accept; at most max_series."""
        on_labels = tuple(IndexMatcher(m.name, m.op, m.value) for m in matchers if m.name != NAME)
        chosen = []
        for metric in self.metrics(matchers):
            self.charge(SHARDS)  # its index partitions: a selector across 2,000 names read them for 17 s
            for sid, labels in self.registry.select(metric, on_labels):  # answered from the postings
                full = {key: value for key, value in labels.items() if value}
                full[NAME] = metric.name
                chosen.append((metric, sid, full))
                if len(chosen) > self.max_series:
                    raise TooMuchData(f"the query selects more than {self.max_series} series; "
                                      "narrow its label matchers")
        return chosen

    def by_metric(self, matchers: tuple[Matcher, ...]) -> list[tuple[Metric, list[tuple[str, dict]]]]:
        """The selected series grouped by metric: each metric's are read together."""
        grouped: dict[str, tuple[Metric, list]] = {}
        for metric, sid, labels in self.select(matchers):
            grouped.setdefault(metric.name, (metric, []))[1].append((sid, labels))
        return list(grouped.values())

    def __call__(self, matchers: tuple[Matcher, ...], start_ms: int, end_ms: int) -> list[RawSeries]:
        """Every selected series with its points in [start, end] (the point store reads [start, end)); times
        outside those points may have (a far offset) hold none."""
        start_ms, end_ms = max(start_ms, POINT_MIN_MS), min(end_ms, POINT_END_MS - 1)
        if end_ms < start_ms:
            return []
        found = []
        for metric, series in self.by_metric(matchers):
            sids = [sid for sid, _ in series]
            buckets = self.registry.buckets(metric, sids, start_ms, end_ms + 1)
            self.charge(sum(map(len, buckets.values())))
            data = self.points.read(metric, sids, start_ms, end_ms + 1, buckets=buckets)
            for sid, labels in series:
                points = data[sid]
                found.append(RawSeries(labels, points.ts.astype(np.int64), points.value.astype(float)))
        return found

    def hourly(self, matchers: tuple[Matcher, ...], start_ms: int, end_ms: int) -> list[HourlySeries] | None:
        """The hour rows in [start, end) of every selected series, or None when a selected series has a rollup
        being recomputed in that range (the engine then reads raw points, so a late point is never missed)."""
        start_ms, end_ms = max(start_ms, POINT_MIN_MS), min(end_ms, POINT_END_MS)
        if self.rollups is None or end_ms <= start_ms:
            return None
        found = []
        for metric, series in self.by_metric(matchers):
            sids = {sid for sid, _ in series}
            if any(sid in sids and bucket < end_ms and bucket + metric.partition_ms > start_ms
                   for sid, bucket in self.rollups.pending(metric, sorted(sids))):
                return None
            buckets = self.registry.buckets(metric, sorted(sids), start_ms, end_ms)
            self.charge(sum(map(len, buckets.values())))
            rows = self.rollups.read(metric, sorted(sids), start_ms, end_ms, buckets)
            found += [HourlySeries(labels, rows[sid]) for sid, labels in series]
        return found

    def label_values(self, name: str, matchers_list: list[tuple[Matcher, ...]]) -> list[str]:
        """The values a label takes over the selected series (all series when no match[] is given)."""
        if name == NAME and not matchers_list:
            return sorted(metric.name for metric in self.metrics())
        values = {labels.get(name) for _, _, labels in self.series(matchers_list)}
        return sorted(value for value in values if value)

    def label_names(self, matchers_list: list[tuple[Matcher, ...]]) -> list[str]:
        """Every label name of the selected series (all series when no match[] is given), `__name__` included."""
        return sorted({key for _, _, labels in self.series(matchers_list) for key in labels})

    def series(self, matchers_list: list[tuple[Matcher, ...]]) -> list[tuple[Metric, str, dict]]:
        """The union of several selectors' series (every numeric series when there are none), bounded."""
        if not matchers_list:
            matchers_list = [(Matcher.of(NAME, "=~", ".+"),)]
        chosen: dict[tuple, tuple] = {}
        for matchers in matchers_list:
            for metric, sid, labels in self.select(matchers):
                chosen[(metric.name, sid)] = (metric, sid, labels)
            if len(chosen) > self.max_series:
                raise TooMuchData(f"the request selects more than {self.max_series} series; narrow match[]")
        return list(chosen.values())
