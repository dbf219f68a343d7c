"""PromQL's dialect on the read gateway (query/gateway.py): label matchers translated to a metric choice and
index matchers (PromQL's repeated label name means AND, each its own matcher; ours means OR, one `in` matcher),
and the samples or hour rows of the series they select, read through the gateway, so the query budget, the
deadline and the token's prefixes bound PromQL, alerting and remote_read exactly as /api/query.

Our metric name is Prometheus' `__name__`; a label with an empty value is absent, as in Prometheus. Only
numeric metrics (gauges and counters) are series to PromQL: an enum's states and a histogram's buckets are
not plain float samples.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from metrics_server.model import POINT_END_MS, POINT_MIN_MS, ROLLUP_TYPES, Metric
from metrics_server.promql import HourlySeries, Matcher, RawSeries, TooMuchData
from metrics_server.storage.series_index import Matcher as IndexMatcher

if TYPE_CHECKING:
    from metrics_server.query.gateway import Gateway

NAME = "__name__"
MAX_SERIES = 10_000  # series one selector may select (a query over more is refused, naming the limit)


class StoreSource:
    """`source(matchers, start_ms, end_ms)` for the engine, plus the series index for /series and /labels."""

    def __init__(self, gateway: Gateway, max_series: int = MAX_SERIES):
        self.gateway = gateway
        self.max_series = max_series

    def metrics(self, matchers: tuple[Matcher, ...] = (), soon: bool = False) -> list[Metric]:
        """Numeric metrics whose name satisfies the `__name__` matchers (one read when the name is given) and
        whose series may satisfy the others: a metric without a label reads it as "", so `type="free"` passes over
        every metric defined without `type` with no index read (a selector with no name visits every metric, and
        reading each one's postings took the compliance tester's `{type="free"}` past its 10 s). `soon`: see
        Gateway.metrics."""
        on_name = [m for m in matchers if m.name == NAME]
        on_labels = [m for m in matchers if m.name != NAME]
        exact = next((m.value for m in on_name if m.op == "="), None)
        return [metric for metric in self.gateway.metrics(exact, soon) if metric.type in ROLLUP_TYPES
                and all(m.matches(metric.name) for m in on_name)
                and all(metric.has_label(m.name) or m.matches("") for m in on_labels)]

    def select(self, matchers: tuple[Matcher, ...], soon: bool = False) -> list[tuple[Metric, str, dict]]:
        """(metric, series id, Prometheus labels) of every series all matchers accept; at most max_series."""
        on_labels = tuple(IndexMatcher(m.name, m.op, m.value) for m in matchers if m.name != NAME)
        chosen = []
        metrics = self.metrics(matchers, soon)
        for metric, selected in zip(metrics, self.gateway.select_many(metrics, on_labels, soon)):
            for sid, labels in selected:
                full = {key: value for key, value in labels.items() if value}
                full[NAME] = metric.name
                chosen.append((metric, sid, full))
                if len(chosen) > self.max_series:
                    raise TooMuchData(f"the query selects more than {self.max_series} series; "
                                      "narrow its label matchers")
        return chosen

    def by_metric(self, matchers: tuple[Matcher, ...],
                  soon: bool = False) -> list[tuple[Metric, list[str], list[dict]]]:
        """The selected series grouped by metric (ids, labels): each metric's are read together."""
        grouped: dict[str, tuple[Metric, list, list]] = {}
        for metric, sid, labels in self.select(matchers, soon):
            _, sids, label_sets = grouped.setdefault(metric.name, (metric, [], []))
            sids.append(sid)
            label_sets.append(labels)
        return list(grouped.values())

    def __call__(self, matchers: tuple[Matcher, ...], start_ms: int, end_ms: int,
                 settled: bool = False) -> list[RawSeries]:
        """Every selected series with its points in [start, end] (the point store reads [start, end)); times
        outside those points may have (a far offset) hold none. A definition or selection cached a while ago is read
        beside the points (Gateway's `soon`), and the points read again in the rare case that it changed."""
        start_ms, end_ms = max(start_ms, POINT_MIN_MS), min(end_ms, POINT_END_MS - 1)
        if end_ms < start_ms:
            return []
        found = []
        for metric, sids, label_sets in self.by_metric(matchers, soon=not settled):
            data = self.gateway.raw(metric, sids, start_ms, end_ms + 1)
            found += [RawSeries(labels, data[sid].ts.astype(np.int64, copy=False),
                                 data[sid].value.astype(float, copy=False))
                      for sid, labels in zip(sids, label_sets)]
        if not settled and not self.gateway.confirmed():
            return self(matchers, start_ms, end_ms, settled=True)
        return found

    def hourly(self, matchers: tuple[Matcher, ...], start_ms: int, end_ms: int,
               agg: str) -> list[HourlySeries] | None:
        """The hour rows in [start, end) of every selected series (to answer `agg` from), or None when the gateway
        says raw samples must answer (no rollups, or a selected series' rollups being recomputed in that range)."""
        start_ms, end_ms = max(start_ms, POINT_MIN_MS), min(end_ms, POINT_END_MS)
        if end_ms <= start_ms:
            return None
        chosen = self.by_metric(matchers)
        if any(not self.gateway.hourly(metric, agg, whole_hours=True)
               or self.gateway.pending(metric, sids, start_ms, end_ms) for metric, sids, _ in chosen):
            return None
        found = []
        for metric, sids, label_sets in chosen:
            rows = self.gateway.rollup_rows(metric, sids, start_ms, end_ms)
            found += [HourlySeries(labels, rows[sid]) for sid, labels in zip(sids, label_sets)]
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
