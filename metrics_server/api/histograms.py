"""Histogram metrics over time: bucket counts per bin (a heatmap) and percentile lines from the buckets."""
import math

import numpy as np
from flask import Blueprint

from metrics_server.api.data import bound_text, matching_series, store
from metrics_server.api.metrics import find_metric
from metrics_server.api.params import bins_for, label_filters, load_args
from metrics_server.jsonio import json_response
from metrics_server.query.histogram import heatmap, quantile
from metrics_server.schemas import HeatmapSchema

blueprint = Blueprint("histograms", __name__)
heatmap_schema = HeatmapSchema()


def bucket_matrix(parts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points of several series as (ts, sorted bounds, counts[point, bound]); a bound a point lacks counts 0."""
    ts = np.concatenate([part.ts for part in parts]) if parts else np.empty(0, np.int64)
    buckets = [item or {} for part in parts for item in part.buckets]
    bounds = np.array(sorted({bound for item in buckets for bound in item}), dtype=np.float64)
    position = {bound: i for i, bound in enumerate(bounds.tolist())}
    counts = np.zeros((len(buckets), len(bounds)))
    for row, item in enumerate(buckets):
        for bound, count in item.items():
            counts[row, position[bound]] = count
    return ts, bounds, counts


@blueprint.get("/metrics/<name>/heatmap")
def histogram_heatmap(name: str):
    """Bucket counts per time bin (null for an empty bin) and the requested percentiles (q=0.5&q=0.99)."""
    metric = find_metric(name, "histogram")
    args = load_args(heatmap_schema)
    bins = bins_for(args)
    series = matching_series(metric, label_filters(set(heatmap_schema.fields)))
    data = store().read(metric, [sid for sid, _ in series], int(bins.edges[0]), int(bins.edges[-1]), ("buckets",))
    ts, bounds, counts = bucket_matrix(list(data.values()))
    grid = heatmap(ts, bounds, counts, bins.edges)
    starts = bins.starts.tolist()
    rows = [None if np.isnan(row).all() else row.tolist() for row in grid] if len(bounds) else [None] * len(starts)
    return json_response({
        "metric": name, "unit": metric.unit, "bins": bins.name, "step": bins.step_ms,
        "bounds": [bound if math.isfinite(bound) else bound_text(bound) for bound in bounds.tolist()],
        "points": list(zip(starts, rows)),
        "quantiles": {f"{q:g}": list(zip(starts, quantile(bounds, grid, q).tolist())) if len(bounds)
                      else [[start, None] for start in starts] for q in args["q"]},
    })
