"""/api/query's dialect: the series a selector chose, read through the gateway (query/gateway.py) and binned per
series, per group or folded across series. Runs and is tested without Flask; the blueprint only parses and
answers."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from metrics_server.errors import ApiError
from metrics_server.limits import check_deadline
from metrics_server.model import PERCENTILES, ROLLUP_AGGS, ROLLUP_TYPES, Metric, default_agg
from metrics_server.query import aggregate as agg_ops
from metrics_server.query.bins import Bins, whole_hours
from metrics_server.query.histogram import bucket_matrix, heatmap, quantile

if TYPE_CHECKING:
    from metrics_server.query.gateway import Gateway


@dataclass
class Result:
    """One answered series: its identity and values aligned with the bins (NaN = gap)."""

    metric: Metric
    labels: dict
    agg: str
    values: np.ndarray
    m4: tuple[np.ndarray, ...] | None = None
    resolution: str = "raw"
    across: str | None = None
    series: int = 1

    def to_json(self, starts: list[int]) -> dict:
        body = {"metric": self.metric.name, "labels": self.labels, "unit": self.metric.unit,
                "type": self.metric.type, "agg": self.agg, "resolution": self.resolution,
                "points": list(zip(starts, self.values.tolist()))}
        if self.across:
            body.update(across=self.across, series_count=self.series)
        if self.m4 is not None:
            body.update(zip(("min", "max", "first", "last"), (part.tolist() for part in self.m4)))
        return body


def groups_of(series: list[tuple[str, dict]], group_by: list[str]) -> dict[tuple, tuple[dict, list[str]]]:
    """Series ids per group: one group per series unless group_by names label keys to merge on."""
    groups: dict[tuple, tuple[dict, list[str]]] = {}
    for sid, labels in series:
        shown = {key: labels.get(key, "") for key in group_by} if group_by else labels
        key = tuple(sorted(shown.items()))
        groups.setdefault(key, (shown, []))[1].append(sid)
    return groups


def answer(metric: Metric, sids: list[str], data: dict, bins: Bins, agg: str, chart: bool) -> tuple:
    """The values (and M4 parts in chart mode) of one group of series."""
    edges = bins.edges
    parts = [data[sid] for sid in sids]
    ts = np.concatenate([part.ts for part in parts]) if parts else np.empty(0, np.int64)
    if metric.type == "histogram" and agg in PERCENTILES:
        values = histogram_quantile(parts, edges, PERCENTILES[agg])
    elif agg == "rate":
        values = agg_ops.sum_series([agg_ops.aggregate(part.ts, part.value, edges, "rate") for part in parts])
    elif agg == "anomaly":  # each series scored on its own points (the first of them its history); the highest
        values = np.fmax.reduce([agg_ops.aggregate(part.ts, part.value, edges, "anomaly") for part in parts],
                                initial=np.nan) if parts else np.full(len(edges) - 1, np.nan)
    else:
        values = agg_ops.aggregate(ts, np.concatenate([part.value for part in parts]) if parts else
                                   np.empty(0), edges, agg)
    m4 = None
    if chart:
        pooled = (ts, np.concatenate([part.value for part in parts]) if parts else np.empty(0))
        m4 = agg_ops.m4(*pooled, edges) if agg not in ("rate", "anomaly") and metric.type != "histogram" \
            else (values,) * 4
    return values, m4


def histogram_quantile(parts, edges: np.ndarray, q: float) -> np.ndarray:
    """A percentile per bin from the bucket counts of every point in it."""
    ts, bounds, counts = bucket_matrix(parts)
    return quantile(bounds, heatmap(ts, bounds, counts, edges), q)

def answer_from_rollups(rows: dict[str, dict], sids: list[str], bins: Bins, agg: str, chart: bool) -> tuple:
    """The values (and M4 parts in chart mode) of one group, from hour rows."""
    parts = [rows[sid] for sid in sids]
    merged = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]} if parts else \
        agg_ops.points_as_rows(np.empty(0, np.int64), np.empty(0))
    values = agg_ops.aggregate_rollups(merged, bins.edges, agg)
    return values, agg_ops.m4_rollups(merged, bins.edges) if chart else None


def check_query(metric: Metric, agg: str, group_by: list[str]) -> None:
    """Refuse an aggregate or a grouping the metric cannot have, naming the parameter."""
    if agg == "rate" and metric.type != "counter":
        raise ApiError(f"agg: rate applies to counter metrics; '{metric.name}' is a {metric.type}", 400)
    if agg == "anomaly" and metric.type != "gauge":
        raise ApiError(f"agg: anomaly applies to gauge metrics; '{metric.name}' is a {metric.type}", 400)
    for key in group_by:
        if not metric.has_label(key):
            raise ApiError(f"group_by: '{key}' is not a label of metric '{metric.name}'", 400)


SLICE = 256  # series read and binned at a time when folding across series: memory stays SLICE × bins


@dataclass
class Plan:
    """One selector's work, planned from the series index before any data is read, so that its cost (lines
    answered, Cassandra reads) is checked first."""

    metric: Metric
    series: list[tuple[str, dict]]
    bins: Bins
    agg: str
    group_by: list[str]
    chart: bool
    across: str | None
    rollup: bool
    buckets: dict[str, list[int]] = field(repr=False)
    reads: int = 0

    @cached_property
    def lines(self) -> int:
        """The lines this selector answers: one per series, per group_by value, or one over all."""
        if self.across and not self.group_by:
            return 1 if self.series else 0
        if not self.group_by:
            return len(self.series)
        return len({tuple(labels.get(key, "") for key in self.group_by) for _, labels in self.series})


def plan(gateway: Gateway, metric: Metric, series: list[tuple[str, dict]], bins: Bins, agg: str | None,
         group_by: list[str], chart: bool, across: str | None = None) -> Plan:
    """What one selector will read: its aggregate checked, the buckets of its series looked up in the index."""
    agg = agg or default_agg(metric.type)
    check_query(metric, agg, group_by)
    if across and across not in agg_ops.ACROSS:
        raise ApiError(f"across: expected one of {', '.join(agg_ops.ACROSS)}; got {across!r}", 400)
    start, end = int(bins.edges[0]), int(bins.edges[-1])
    buckets = gateway.locate(metric, [sid for sid, _ in series], start, end)
    hourly = gateway.hourly(metric, agg, whole_hours(bins))
    return Plan(metric, series, bins, agg, group_by, chart, across, hourly, buckets, gateway.cost(buckets, not hourly))


def execute(gateway: Gateway, plan: Plan) -> list[Result]:
    """A planned selector's lines: per series or group (points pooled), or folded across series."""
    if plan.across:
        return fold_across(gateway, plan)
    return lines_of(gateway, plan, plan.series, plan.group_by, pending(gateway, plan))


def pending(gateway: Gateway, plan: Plan) -> set[str]:
    """Series of the plan whose rollups in its range are being recomputed (read raw instead)."""
    if not plan.rollup:
        return set()
    return gateway.pending(plan.metric, [sid for sid, _ in plan.series], int(plan.bins.edges[0]),
                           int(plan.bins.edges[-1]))


def lines_of(gateway: Gateway, plan: Plan, series: list[tuple[str, dict]], group_by: list[str],
             stale_ids: set[str]) -> list[Result]:
    """Some of a plan's series read (from hourly rollups where they answer exactly) and binned per group."""
    metric, bins, agg, chart = plan.metric, plan.bins, plan.agg, plan.chart
    sids, start, end = [sid for sid, _ in series], int(bins.edges[0]), int(bins.edges[-1])
    buckets = {sid: plan.buckets[sid] for sid in sids}
    groups = groups_of(series, group_by).values()
    if plan.rollup:
        fresh = [sid for sid in sids if sid not in stale_ids]
        rows = gateway.rollup_rows(metric, fresh, start, end, buckets)
        stale = [sid for sid in sids if sid in stale_ids]
        if stale:
            for sid, series_points in gateway.raw(metric, stale, start, end, buckets=buckets).items():
                rows[sid] = agg_ops.points_as_rows(series_points.ts, series_points.value)
        return [Result(metric, labels, agg, *answer_from_rollups(rows, group, bins, agg, chart),
                       "raw" if stale_ids.intersection(group) else "hour") for labels, group in groups]
    data = gateway.raw(metric, sids, start, end, metric.extra_columns if metric.type == "histogram" else (),
                       buckets=buckets)
    return [Result(metric, labels, agg, *answer(metric, group, data, bins, agg, chart)) for labels, group in groups]


def fold_across(gateway: Gateway, plan: Plan) -> list[Result]:
    """Aggregation across series (sum/avg/min/max/count per bin, by group_by labels or over all). Numbers are
    read and binned in bulk (fold_columns); other types a SLICE of series at a time, each binned on its own;
    either way memory stays bounded however many series a metric has."""
    if plan.metric.type in ROLLUP_TYPES and plan.agg in ROLLUP_AGGS:
        return fold_columns(gateway, plan)
    shown: dict[tuple, dict] = {}
    folds: dict[tuple, agg_ops.Across] = {}
    for first in range(0, len(plan.series), SLICE):
        check_deadline()
        for line in lines_of(gateway, plan, plan.series[first:first + SLICE], [], set()):
            labels = {key: line.labels.get(key, "") for key in plan.group_by}
            key = tuple(sorted(labels.items()))
            shown.setdefault(key, labels)
            folds.setdefault(key, agg_ops.Across(plan.across, len(plan.bins))).add(line.values)
    results = []
    for key, fold in sorted(folds.items()):
        values = fold.result()
        results.append(Result(plan.metric, shown[key], plan.agg, values, (values,) * 4 if plan.chart else None,
                              "raw", plan.across, fold.series))
    return results


def fold_columns(gateway: Gateway, plan: Plan) -> list[Result]:
    """Aggregation across series of numbers, a slice of partitions at a time (8 of a bucket's 64 shards): each
    slice's hour rows (or raw points, for series whose rollups are being recomputed or bins finer than hours)
    binned per series and folded per group in a few array operations, so 20,000 series cost 64 reads a bucket
    and no Python work per series (issue 14: 7.4 s for an hour before, a read and a binning per series)."""
    group_by = sorted(plan.group_by)
    values = [tuple(labels.get(key, "") for key in group_by) for _, labels in plan.series]
    keys = sorted(set(values))
    position = {key: i for i, key in enumerate(keys)}
    group_of = np.fromiter((position[value] for value in values), np.int64, len(values))
    folds = [agg_ops.Across(plan.across, len(plan.bins)) for _ in keys]
    for fold, size in zip(folds, np.bincount(group_of, minlength=len(keys)).tolist()):
        fold.series = size
    stale = pending(gateway, plan)
    start, end = int(plan.bins.edges[0]), int(plan.bins.edges[-1])
    for series, rows in gateway.columns(plan.metric, [sid for sid, _ in plan.series], plan.buckets, start, end,
                                        plan.rollup, stale):
        check_deadline()
        cell_series, cell_bins, cell_values = agg_ops.by_series(series, rows, plan.bins.edges, plan.agg)
        groups = group_of[cell_series]
        order = np.argsort(groups, kind="stable")
        for cells in np.split(order, np.flatnonzero(np.diff(groups[order])) + 1):
            if len(cells):
                folds[groups[cells[0]]].add_cells(cell_bins[cells], cell_values[cells])
    resolution = "hour" if plan.rollup and not stale else "raw"
    results = []
    for key, fold in zip(keys, folds):
        values = fold.result()
        results.append(Result(plan.metric, dict(zip(group_by, key)), plan.agg, values,
                              (values,) * 4 if plan.chart else None, resolution, plan.across, fold.series))
    return results


def run_plans(gateway: Gateway, plans: list[Plan]) -> list[Result]:
    """Planned selectors checked against the query budget before any data is read (lines, lines × bins,
    Cassandra reads), then executed under the query's deadline."""
    limits = gateway.limits
    for index, each in enumerate(plans):
        limits.check_lines(f"metric.{index}", each.lines, len(each.series))
    lines = sum(each.lines for each in plans)
    limits.check_lines("metric", lines, sum(len(each.series) for each in plans))
    limits.check_cells(lines, max((len(each.bins) for each in plans), default=0))
    gateway.charge(sum(each.reads for each in plans))
    results = []
    with gateway.deadline():
        for each in plans:
            results += execute(gateway, each)
    return results
