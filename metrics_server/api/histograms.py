"""Histogram metrics over time: bucket counts per bin (a heatmap) and percentile lines from the buckets."""
import math

import numpy as np
from flask import Blueprint

from metrics_server.api.lookup import find_metric, gateway, matching_series, server_config
from metrics_server.api.openapi import documented
from metrics_server.api.params import bins_for, label_filters, load_args
from metrics_server.jsonio import json_response
from metrics_server.limits import TooCostly
from metrics_server.query.histogram import bound_text, bucket_matrix, heatmap, quantile
from metrics_server.schemas import HeatmapSchema

blueprint = Blueprint("histograms", __name__)
heatmap_schema = HeatmapSchema()


@blueprint.get("/metrics/<name>/heatmap")
@documented("Histogram: bucket counts per bin and percentiles", query=HeatmapSchema)
def histogram_heatmap(name: str):
    """Bucket counts per time bin (null for an empty bin) and the requested percentiles (q=0.5&q=0.99)."""
    metric = find_metric(name, "histogram")
    args = load_args(heatmap_schema)
    bins = bins_for(args)
    limits = gateway().limits
    if len(args["q"]) > server_config()["max_quantiles"]:
        raise TooCostly(f"q: {len(args['q'])} quantiles asked (at most {server_config()['max_quantiles']}, "
                        f"max_quantiles)", 422, field="q")
    series = matching_series(metric, label_filters(set(heatmap_schema.fields)))
    data = gateway().in_order(metric, [sid for sid, _ in series], int(bins.edges[0]), int(bins.edges[-1]))
    ts, bounds, counts = bucket_matrix(list(data.values()))
    limits.check_cells(len(bounds), len(bins), "bucket bounds")
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
