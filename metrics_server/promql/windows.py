"""Range-vector functions over one series' samples, for every evaluation step at once.

Each step's window is the closed interval [t - range, t] (Prometheus 2.x), given as index bounds `lo`, `hi`
into the series' sorted arrays (`values[lo:hi]`). A function returns (value per step, present per step);
a step whose window has too few samples is absent, as in Prometheus. The formulas follow Prometheus 2.42's
promql/functions.go (extrapolatedRate, instantValue, the *_over_time family) operation by operation, so that
answers agree with a real Prometheus to the last bits, not only approximately.
"""
from typing import NamedTuple

import numpy as np

BLOCK_CELLS = 2_000_000  # values one window block holds (16 MB of float64): steps × the widest window, chunked


class Window(NamedTuple):
    """One series' samples and, per step, its window [starts, ends] as index bounds values[lo:hi]."""

    labels: dict
    times: np.ndarray
    values: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    steps: np.ndarray  # the evaluation times (ends are these less the offset, or the @ time)


def combined(found: list[Window]) -> Window:
    """Many series' windows as one: samples end to end, each series' bounds shifted to its place, so that a kernel
    runs once over all series (row i * steps + j is series i at step j) instead of once per series."""
    sizes = np.array([len(w.values) for w in found])
    shift = np.repeat(np.cumsum(sizes) - sizes, len(found[0].lo))
    first = found[0]
    return Window({}, np.concatenate([w.times for w in found]), np.concatenate([w.values for w in found]),
                  np.concatenate([w.lo for w in found]) + shift, np.concatenate([w.hi for w in found]) + shift,
                  np.tile(first.starts, len(found)), np.tile(first.ends, len(found)), np.tile(first.steps, len(found)))


def reduce_windows(ufunc: np.ufunc, values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """ufunc.reduce(values[lo[i]:hi[i]]) for every i, in one pass (meaningless where hi <= lo)."""
    if len(lo) == 0:
        return np.empty(0)
    padded = np.append(values, 0.0)  # reduceat wants every index below the length, and hi may equal it
    bounds = np.empty(2 * len(lo), dtype=np.intp)
    bounds[0::2] = lo
    bounds[1::2] = hi
    with np.errstate(all="ignore"):  # Inf - Inf is NaN, as in Prometheus
        return ufunc.reduceat(padded, bounds)[0::2]


def extrapolated_rate(times, values, lo, hi, range_start, range_end, counter: bool, per_second: bool,
                      range_s: float):
    """rate (counter, per second), increase (counter) and delta (gauge), extrapolated to the window's edges."""
    present = hi - lo >= 2
    last_i = np.maximum(hi - 1, 0)
    first_v, last_v = values[np.minimum(lo, len(values) - 1)], values[last_i]
    result = last_v - first_v
    if counter:
        # a drop is a counter reset: the value before it is added back (Prometheus' `resultValue += prevValue`)
        drops = np.zeros(len(values))
        drops[1:] = np.where(values[1:] < values[:-1], values[:-1], 0.0)
        with np.errstate(all="ignore"):
            result = result + np.where(present, reduce_windows(np.add, drops, np.minimum(lo + 1, hi), hi), 0.0)
    first_t = times[np.minimum(lo, len(times) - 1)]
    last_t = times[last_i]
    with np.errstate(all="ignore"):
        to_start = (first_t - range_start) / 1000
        to_end = (range_end - last_t) / 1000
        sampled = (last_t - first_t) / 1000
        average = sampled / (hi - lo - 1)
        if counter:
            to_zero = sampled * (first_v / result)
            clamp = (result > 0) & (first_v >= 0) & (to_zero < to_start)
            to_start = np.where(clamp, to_zero, to_start)
        threshold = average * 1.1
        interval = sampled + np.where(to_start < threshold, to_start, average / 2)
        interval = interval + np.where(to_end < threshold, to_end, average / 2)
        factor = interval / sampled
        if per_second:
            factor = factor / range_s
        return result * factor, present


def instant_rate(times, values, lo, hi, per_second: bool):
    """irate (per second, a drop is a reset) and idelta: the last two samples of each window."""
    present = hi - lo >= 2
    last_i = np.maximum(hi - 1, 0)
    prev_i = np.maximum(hi - 2, 0)
    last_v, prev_v = values[last_i], values[prev_i]
    if not per_second:
        return last_v - prev_v, present
    result = np.where(last_v < prev_v, last_v, last_v - prev_v)
    with np.errstate(all="ignore"):
        return result / ((times[last_i] - times[prev_i]) / 1000), present


def over_time(name: str, values, lo, hi):
    """sum, count, avg, min, max, last, stdvar and stddev over each window."""
    count = hi - lo
    present = count >= 1
    if name == "count_over_time":
        return count.astype(float), present
    if name == "last_over_time":
        return values[np.maximum(hi - 1, 0)], present
    if name in ("min_over_time", "max_over_time"):
        # fmin/fmax skip NaN unless the whole window is NaN, like Prometheus' `|| math.IsNaN(max)`
        ufunc = np.fmin if name == "min_over_time" else np.fmax
        return reduce_windows(ufunc, values, lo, hi), present
    return per_block(lo, hi, lambda index, valid, part: running(values, index, valid, name)), present


def kahan_add(increment, total, compensation):
    """Prometheus' kahanSumInc (Neumaier's variant), elementwise: the new sum and compensation."""
    with np.errstate(all="ignore"):
        new = total + increment
        larger = np.abs(total) >= np.abs(increment)
        return new, compensation + np.where(larger, (total - new) + increment, (increment - new) + total)


def running(values, index, valid, name: str) -> np.ndarray:
    """sum_over_time, avg_over_time, stdvar_over_time or stddev_over_time of a block of windows, sample by sample
    in Prometheus 2.42's order and arithmetic (compensated sums, a running mean that does not overflow, Welford's
    variance), so that answers agree to the last bits."""
    rows = len(index)
    count, total, compensation, aux, aux_compensation = (np.zeros(rows) for _ in range(5))
    with np.errstate(all="ignore"):
        for column in range(index.shape[1]):
            ok = valid[:, column]
            value = values[np.minimum(index[:, column], len(values) - 1)]
            count = count + ok
            if name == "sum_over_time":
                new = kahan_add(value, total, compensation)
            elif name == "avg_over_time":
                keep = np.isinf(total) & ((np.isinf(value) & ((total > 0) == (value > 0)))
                                          | (~np.isinf(value) & ~np.isnan(value)))
                new = kahan_add(value / count - total / count, total, compensation)
                ok = ok & ~keep
            else:
                delta = value - (total + compensation)
                new = kahan_add(delta / count, total, compensation)
                aux_new = kahan_add(delta * (value - (new[0] + new[1])), aux, aux_compensation)
                aux, aux_compensation = (np.where(ok, a, b) for a, b in zip(aux_new, (aux, aux_compensation)))
            total, compensation = (np.where(ok, a, b) for a, b in zip(new, (total, compensation)))
        if name in ("sum_over_time", "avg_over_time"):
            return np.where(np.isinf(total), total, total + compensation)
        variance = (aux + aux_compensation) / count
        return np.sqrt(variance) if name == "stddev_over_time" else variance


def blocks(lo: np.ndarray, hi: np.ndarray):
    """(step slice, sample index, valid) blocks: row i holds step i's window left-aligned, `valid` false past its end;
    chunked by steps so that no block exceeds BLOCK_CELLS. For functions with no running form (quantiles, fits)."""
    width = max(int((hi - lo).max(initial=0)), 1)
    rows = max(1, BLOCK_CELLS // width)
    for first in range(0, len(lo), rows):
        part = slice(first, first + rows)
        index = lo[part, None] + np.arange(width)
        yield part, index, index < hi[part, None]


def per_block(lo, hi, kernel) -> np.ndarray:
    """kernel(index, valid, part) for every block, concatenated into one value per step."""
    out = np.full(len(lo), np.nan)
    for part, index, valid in blocks(lo, hi):
        out[part] = kernel(index, valid, part)
    return out


def quantile_rows(values: np.ndarray, valid: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Prometheus' quantile() per row over its valid cells: linear interpolation between the nearest ranks of
    the sorted values (NaN sorts first, as in its vectorByValueHeap); -Inf below 0, +Inf above 1."""
    if np.isnan(values[valid]).any():
        ordered = np.take_along_axis(values, np.lexsort((values, ~np.isnan(values), ~valid), axis=-1), axis=-1)
    else:  # no NaN: one sort, the cells past each row's end as +Inf (a +Inf value there is the same +Inf)
        ordered = np.sort(np.where(valid, values, np.inf), axis=-1)
    n = valid.sum(axis=-1)
    with np.errstate(all="ignore"):
        rank = q * (n - 1)
        lower = np.clip(np.floor(rank), 0, None)
        upper = np.minimum(n - 1, lower + 1)
        weight = rank - np.floor(rank)
        rows = np.arange(len(values))
        low = ordered[rows, np.nan_to_num(lower).astype(np.intp).clip(0, max(values.shape[-1] - 1, 0))]
        high = ordered[rows, np.nan_to_num(upper).astype(np.intp).clip(0, max(values.shape[-1] - 1, 0))]
        result = low * (1 - weight) + high * weight
    result = np.where(q < 0, -np.inf, np.where(q > 1, np.inf, result))
    return np.where((n == 0) | np.isnan(q), np.nan, result)


def quantile_over_time(w: Window, q: np.ndarray):
    """quantile_over_time(φ, m): the φ-quantile of each window's values."""
    def kernel(index, valid, part):
        return quantile_rows(w.values[np.minimum(index, len(w.values) - 1)], valid, q[part])
    return per_block(w.lo, w.hi, kernel), w.hi > w.lo


def mad_over_time(w: Window):
    """mad_over_time: the median absolute deviation of each window from its median (Prometheus 3)."""
    def kernel(index, valid, part):
        values = w.values[np.minimum(index, len(w.values) - 1)]
        half = np.full(len(values), 0.5)
        median = quantile_rows(values, valid, half)
        return quantile_rows(np.abs(values - median[:, None]), valid, half)
    return per_block(w.lo, w.hi, kernel), w.hi > w.lo


def counted_changes(w: Window, resets: bool):
    """changes (value differs from the one before; NaN after NaN is no change) and resets (value drops), counted
    between consecutive samples of each window, from one running sum."""
    values = w.values
    flags = np.zeros(len(values))
    if resets:
        flags[1:] = values[1:] < values[:-1]
    else:
        flags[1:] = (values[1:] != values[:-1]) & ~(np.isnan(values[1:]) & np.isnan(values[:-1]))
    running = np.cumsum(flags)
    present = w.hi > w.lo
    last = np.maximum(w.hi - 1, 0)
    first = np.minimum(w.lo, len(values) - 1)
    return np.where(present, running[last] - running[first], np.nan), present


def linear_fit(w: Window, origin_ms: np.ndarray | None, duration_s: np.ndarray | None):
    """Least-squares line through each window (Prometheus' linearRegression, x in seconds from an origin):
    deriv's slope (origin: the window's first sample) or predict_linear's value `duration_s` past the origin
    (the evaluation time). A window of equal values has slope 0 (NaN when they are infinite)."""
    def kernel(index, valid, part):
        index = np.minimum(index, len(w.values) - 1)
        y = w.values[index]
        origin = w.times[index[:, 0]] if origin_ms is None else origin_ms[part]
        x = np.where(valid, (w.times[index] - origin[:, None]) / 1e3, 0.0)
        y0 = np.where(valid, y, 0.0)
        n = valid.sum(axis=1)
        with np.errstate(all="ignore"):
            sum_x, sum_y = x.sum(axis=1), y0.sum(axis=1)
            cov = (x * y0).sum(axis=1) - sum_x * sum_y / n
            var = (x * x).sum(axis=1) - sum_x * sum_x / n
            slope = cov / var
            intercept = sum_y / n - slope * sum_x / n
        first = y[:, 0]
        constant = (~valid | (y == first[:, None])).all(axis=1)
        infinite = np.isinf(first)
        slope = np.where(constant, np.where(infinite, np.nan, 0.0), slope)
        intercept = np.where(constant, np.where(infinite, np.nan, first), intercept)
        return slope if duration_s is None else slope * duration_s[part] + intercept
    return per_block(w.lo, w.hi, kernel), w.hi - w.lo >= 2


def double_exponential_smoothing(w: Window, sf: np.ndarray, tf: np.ndarray):
    """Prometheus' holt_winters (double_exponential_smoothing in Prometheus 3): the smoothed value after each
    window's samples, the trend started from the first two samples."""
    def kernel(index, valid, part):
        index = np.minimum(index, len(w.values) - 1)
        values = w.values[index]
        s_f, t_f = sf[part], tf[part]
        s0, s1 = np.zeros(len(values)), values[:, 0]
        trend = values[:, 1] - values[:, 0] if values.shape[1] > 1 else np.zeros(len(values))
        for i in range(1, values.shape[1]):
            if i > 1:
                trend = np.where(valid[:, i], t_f * (s1 - s0) + (1 - t_f) * trend, trend)
            smoothed = s_f * values[:, i] + (1 - s_f) * (s1 + trend)
            s0, s1 = np.where(valid[:, i], s1, s0), np.where(valid[:, i], smoothed, s1)
        return s1
    return per_block(w.lo, w.hi, kernel), w.hi - w.lo >= 2
