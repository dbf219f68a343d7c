"""The read path: the series a query selected, read from the stores and binned. Takes the stores as arguments
(as the write path does), so it runs and is tested without Flask; the blueprint only parses and answers."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from metrics_server.errors import ApiError
from metrics_server.model import PERCENTILES, ROLLUP_AGGS, ROLLUP_TYPES, Metric, default_agg
from metrics_server.query import aggregate as agg_ops
from metrics_server.query.bins import Bins, whole_hours
from metrics_server.query.histogram import bucket_matrix, heatmap, quantile

if TYPE_CHECKING:  # the stores are passed in; the engine only calls their read methods
    from metrics_server.storage.points import PointStore
    from metrics_server.storage.rollups import Rollups


@dataclass
class Result:
    """One answered series: its identity and values aligned with the bins (NaN = gap)."""

    metric: Metric
    labels: dict
    agg: str
    values: np.ndarray
    m4: tuple[np.ndarray, ...] | None = None
    resolution: str = "raw"

    def to_json(self, starts: list[int]) -> dict:
        body = {"metric": self.metric.name, "labels": self.labels, "unit": self.metric.unit,
                "type": self.metric.type, "agg": self.agg, "resolution": self.resolution,
                "points": list(zip(starts, self.values.tolist()))}
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
    else:
        values = agg_ops.aggregate(ts, np.concatenate([part.value for part in parts]) if parts else
                                   np.empty(0), edges, agg)
    m4 = None
    if chart:
        pooled = (ts, np.concatenate([part.value for part in parts]) if parts else np.empty(0))
        m4 = agg_ops.m4(*pooled, edges) if agg != "rate" and metric.type != "histogram" else (values,) * 4
    return values, m4


def histogram_quantile(parts, edges: np.ndarray, q: float) -> np.ndarray:
    """A percentile per bin from the bucket counts of every point in it."""
    ts, bounds, counts = bucket_matrix(parts)
    return quantile(bounds, heatmap(ts, bounds, counts, edges), q)


def uses_rollups(metric: Metric, agg: str, bins: Bins) -> bool:
    """Hourly rollups answer when every bin is whole hours and the aggregate needs no raw points."""
    return metric.type in ROLLUP_TYPES and agg in ROLLUP_AGGS and whole_hours(bins)


def rollup_rows(points: PointStore, rollups: Rollups, metric: Metric, sids: list[str], start: int,
                end: int) -> tuple[dict[str, dict], set[str]]:
    """Hour rows per series, and the series read raw instead because their rollups are being recomputed."""
    pending = {sid for sid, bucket in rollups.pending(metric) if bucket < end and bucket + metric.partition_ms > start}
    stale = {sid for sid in sids if sid in pending}
    rows = rollups.read(metric, [sid for sid in sids if sid not in pending], start, end)
    if stale:
        for sid, series_points in points.read(metric, sorted(stale), start, end).items():
            rows[sid] = agg_ops.points_as_rows(series_points.ts, series_points.value)
    return rows, stale


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
    for key in group_by:
        if key not in metric.label_keys:
            raise ApiError(f"group_by: '{key}' is not a label of metric '{metric.name}'", 400)


def run_selection(points: PointStore, rollups: Rollups, metric: Metric, series: list[tuple[str, dict]], bins: Bins,
                  agg: str | None, group_by: list[str], chart: bool) -> list[Result]:
    """One selector's series, read (from hourly rollups where they answer exactly) and binned per group."""
    agg = agg or default_agg(metric.type)
    check_query(metric, agg, group_by)
    sids, start, end = [sid for sid, _ in series], int(bins.edges[0]), int(bins.edges[-1])
    groups = groups_of(series, group_by).values()
    if uses_rollups(metric, agg, bins):
        rows, stale = rollup_rows(points, rollups, metric, sids, start, end)
        return [Result(metric, labels, agg, *answer_from_rollups(rows, group, bins, agg, chart),
                       "raw" if stale.intersection(group) else "hour") for labels, group in groups]
    data = points.read(metric, sids, start, end, metric.extra_columns if metric.type == "histogram" else ())
    return [Result(metric, labels, agg, *answer(metric, group, data, bins, agg, chart)) for labels, group in groups]
