"""Histogram metrics: bucket bounds, per-bin bucket counts for heatmaps, quantiles from bucket counts."""
import math

import numpy as np

from metrics_server.query.aggregate import group

EXPECTED_BOUND = "expected a bucket upper bound: a finite number or '+Inf'"


def parse_bound(key: str) -> float:
    """A bucket's upper bound from its JSON key ("0.5", "10", "+Inf"), so bounds compare as numbers."""
    text = key.strip().lower() if isinstance(key, str) else None
    if text in ("inf", "+inf"):
        return math.inf
    try:
        bound = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"{EXPECTED_BOUND}; got {key!r}") from None
    if not math.isfinite(bound):
        raise ValueError(f"{EXPECTED_BOUND}; got {key!r}")
    return bound


def _check_bounds(bounds) -> np.ndarray:
    """Bounds as floats (none when no point had buckets), refused unless strictly ascending."""
    bounds = np.asarray(bounds, dtype=np.float64)
    if bounds.ndim != 1 or np.any(np.diff(bounds) <= 0) or np.isnan(bounds).any():
        raise ValueError(f"bucket bounds must be a strictly ascending 1-d array; got {bounds.tolist()}")
    return bounds


def heatmap(ts_ms, bounds, counts, edges) -> np.ndarray:
    """Counts per bin (rows) and bucket (columns) summed over the points in each bin; NaN rows for empty bins."""
    bounds = _check_bounds(bounds)
    ts = np.asarray(ts_ms, dtype=np.int64)
    counts = np.asarray(counts, dtype=np.float64)
    if counts.shape != (len(ts), len(bounds)):
        raise ValueError(f"counts must have shape (points, buckets) = {(len(ts), len(bounds))}; got {counts.shape}")
    groups = group(ts, edges)
    out = np.full((groups.n_bins, len(bounds)), np.nan)
    out[groups.bins] = groups.reduce(np.add, counts)
    return out


def quantile(bounds, counts, q: float):
    """The q-quantile from bucket counts as Prometheus' histogram_quantile computes it; NaN when nothing counted."""
    if not 0 <= q <= 1:
        raise ValueError(f"quantile must be between 0 and 1; got {q!r}")
    bounds = _check_bounds(bounds)
    counts = np.asarray(counts, dtype=np.float64)
    rows = counts.reshape(1, -1) if counts.ndim == 1 else counts
    if rows.ndim != 2 or rows.shape[1] != len(bounds):
        raise ValueError(f"counts must have {len(bounds)} buckets per row; got shape {counts.shape}")
    if not len(bounds):
        return np.full(len(rows), np.nan) if counts.ndim == 2 else math.nan
    cumulative = np.cumsum(rows, axis=1)
    total = cumulative[:, -1]
    rank = q * total
    bucket = np.argmax((cumulative >= rank[:, None]) & (cumulative > 0), axis=1)
    picked = np.arange(len(rows))
    below = cumulative[picked, bucket] - rows[picked, bucket]
    lowers = np.append(min(bounds[0], 0.0), bounds[:-1])
    lower, upper = lowers[bucket], bounds[bucket]
    with np.errstate(invalid="ignore", divide="ignore"):
        inside = np.where(rows[picked, bucket] > 0, (rank - below) / rows[picked, bucket], 0.0)
        value = lower + (upper - lower) * inside
    finite = bounds[np.isfinite(bounds)]
    value = np.where(np.isinf(upper), finite[-1] if len(finite) else np.nan, value)
    value = np.where(total > 0, value, np.nan)
    return value if counts.ndim == 2 else float(value[0])


def bound_text(bound: float) -> str:
    """A histogram bound as the API shows it: '10', '0.5', '+inf'."""
    return "+inf" if math.isinf(bound) else f"{bound:g}"


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
