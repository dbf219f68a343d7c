"""Range-vector functions over one series' samples, for every evaluation step at once.

Each step's window is the closed interval [t - range, t] (Prometheus 2.x), given as index bounds `lo`, `hi`
into the series' sorted arrays (`values[lo:hi]`). A function returns (value per step, present per step);
a step whose window has too few samples is absent, as in Prometheus. The formulas follow Prometheus 2.42's
promql/functions.go (extrapolatedRate, instantValue, the *_over_time family) operation by operation, so that
answers agree with a real Prometheus to the last bits, not only approximately.
"""
import numpy as np


def reduce_windows(ufunc: np.ufunc, values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """ufunc.reduce(values[lo[i]:hi[i]]) for every i, in one pass (meaningless where hi <= lo)."""
    if len(lo) == 0:
        return np.empty(0)
    padded = np.append(values, 0.0)  # reduceat wants every index below the length, and hi may equal it
    bounds = np.empty(2 * len(lo), dtype=np.intp)
    bounds[0::2] = lo
    bounds[1::2] = hi
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
    """sum, count, avg, min, max and last over each window."""
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
    total = reduce_windows(np.add, values, lo, hi)
    if name == "sum_over_time":
        return total, present
    with np.errstate(all="ignore"):
        return total / count, present
