"""GET /api/query: several metrics binned on one time axis, for a chart (width → M4) or a table (granularity)."""
import csv
import io
from dataclasses import dataclass

import numpy as np
from flask import Blueprint, Response

from metrics_server.api.data import matching_series, rollups, store
from metrics_server.api.metrics import find_metric
from metrics_server.api.params import bins_for, load_args
from metrics_server.errors import ApiError
from metrics_server.jsonio import json_response
from metrics_server.query import aggregate as agg_ops
from metrics_server.query.bins import Bins, rollup_resolution
from metrics_server.api.histograms import bucket_matrix
from metrics_server.query.histogram import heatmap, quantile
from metrics_server.query.timeparse import format_iso_array
from metrics_server.schemas import QuerySchema
from metrics_server.selectors import parse_selector
from metrics_server.storage.registry import Metric
from metrics_server.storage.rollups import ROLLUP_TYPES

blueprint = Blueprint("query", __name__)
query_schema = QuerySchema()
QUANTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99}


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


def default_agg(metric: Metric) -> str:
    """Counters chart as rates, enums as how many state reports, everything else as averages."""
    return {"counter": "rate", "enum": "count", "histogram": "p50"}.get(metric.type, "avg")


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
    if metric.type == "histogram" and agg in QUANTILES:
        values = histogram_quantile(parts, edges, QUANTILES[agg])
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
    return (metric.type in ROLLUP_TYPES and agg in agg_ops.ROLLUP_AGGS
            and rollup_resolution(bins) in ("hour", "day"))


def rollup_rows(metric: Metric, sids: list[str], start: int, end: int) -> tuple[dict[str, dict], set[str]]:
    """Hour rows per series, and the series read raw instead because their rollups are being recomputed."""
    pending = {sid for sid, bucket in rollups().pending(metric) if bucket < end and bucket + metric.partition_ms > start}
    stale = {sid for sid in sids if sid in pending}
    rows = rollups().read(metric, [sid for sid in sids if sid not in pending], start, end)
    if stale:
        for sid, points in store().read(metric, sorted(stale), start, end).items():
            rows[sid] = agg_ops.points_as_rows(points.ts, points.value)
    return rows, stale


def answer_from_rollups(rows: dict[str, dict], sids: list[str], bins: Bins, agg: str, chart: bool) -> tuple:
    """The values (and M4 parts in chart mode) of one group, from hour rows."""
    parts = [rows[sid] for sid in sids]
    merged = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]} if parts else \
        agg_ops.points_as_rows(np.empty(0, np.int64), np.empty(0))
    values = agg_ops.aggregate_rollups(merged, bins.edges, agg)
    return values, agg_ops.m4_rollups(merged, bins.edges) if chart else None


def run_query(args: dict) -> tuple[Bins, list[Result]]:
    """Every selector's series, read and binned."""
    bins = bins_for(args)
    results = []
    for index, text in enumerate(args["metric"]):
        try:
            name, filters = parse_selector(text)
        except ValueError as error:
            raise ApiError(f"metric.{index}: {error}", 400, field="metric") from None
        metric = find_metric(name)
        agg = args["agg"] or default_agg(metric)
        if agg == "rate" and metric.type != "counter":
            raise ApiError(f"agg: rate applies to counter metrics; '{name}' is a {metric.type}", 400)
        for key in args["group_by"]:
            if key not in metric.label_keys:
                raise ApiError(f"group_by: '{key}' is not a label of metric '{name}'", 400)
        series = matching_series(metric, filters)
        sids, start, end = [sid for sid, _ in series], int(bins.edges[0]), int(bins.edges[-1])
        chart = args["width"] is not None
        groups = groups_of(series, args["group_by"]).values()
        if uses_rollups(metric, agg, bins):
            rows, stale = rollup_rows(metric, sids, start, end)
            results += [Result(metric, labels, agg, *answer_from_rollups(rows, group, bins, agg, chart),
                               "raw" if stale.intersection(group) else "hour") for labels, group in groups]
            continue
        data = store().read(metric, sids, start, end, ("buckets",) if metric.type == "histogram" else ())
        results += [Result(metric, labels, agg, *answer(metric, group, data, bins, agg, chart))
                    for labels, group in groups]
    return bins, results


@blueprint.get("/query")
def query():
    """Binned series: every bin present, a gap as null; chart mode adds min/max/first/last per bin."""
    args = load_args(query_schema)
    bins, results = run_query(args)
    starts = bins.starts.tolist()
    if args["format"] == "csv":
        return csv_response(bins, results)
    return json_response({
        "start": int(bins.edges[0]), "end": int(bins.edges[-1]), "step": bins.step_ms, "bins": bins.name,
        "agg": args["agg"], "series": [result.to_json(starts) for result in results],
    })


def csv_response(bins: Bins, results: list[Result]) -> Response:
    """The same data as CSV: timestamp, metric, one column per label key, value (empty for a gap)."""
    keys = sorted({key for result in results for key in result.labels})
    stamps = format_iso_array(bins.starts)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["timestamp", "metric", *keys, "value"])
    for result in results:
        labels = [result.labels.get(key, "") for key in keys]
        for stamp, value in zip(stamps, result.values.tolist()):
            writer.writerow([stamp, result.metric.name, *labels, "" if value != value else repr(value)])
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="query.csv"'})
