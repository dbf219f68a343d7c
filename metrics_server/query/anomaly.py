"""Anomaly scores of one series' points, in [0, 1): online and causal (a point's score uses only the points before
it), one pass, and bounded memory per series (its last WINDOW values and a few numbers besides), with one set of
parameters for every series. Scored on the Numenta Anomaly Benchmark by bench/anomaly.py (bench/ANOMALY.md).

- `novelty`: how far a point leaves the range [min, max] of the WINDOW points before it, in units of that range.
  A point inside the range scores 0, so ordinary ups and downs, however large, never score; a spike or a level
  shift beyond anything recent scores at once. A new extreme within GAP points of the previous one continues that
  one's episode and scores 0: a drift into new territory is one anomaly, not one per point.
- `context` (the default): novelty, and a point whose context is new scores LEVEL. A context is the last
  CONTEXT_LENGTH points' sides of the middle of the range of the CONTEXT_RANGE points before each (below the
  range, lower half, upper half, above); it is new when it did not occur in the WINDOW points before. This sees
  what stays inside the range but breaks the rhythm, such as flipping between high and low where the series
  moves smoothly (not a missing peak, though: low, low, low is a context every night has).
- `gaussian`: NAB's own baseline, the distance from the mean of the GAUSSIAN_WINDOW points before in standard
  deviations.
Distances d become scores d / (1 + d), so 0.5 means one range (or one deviation) away.
"""
import numpy as np

WINDOW = 10_000  # points of history: 35 days at 5 minutes (NAB's files hold 1,000 to 22,000 points)
WARM_UP = 30  # points before the first score: fewer make every new point an extreme
GAP = 20  # points within which a new extreme continues the previous one's episode
LEVEL = 0.005  # an extreme for the episode rule (half a percent of the range out), and a new context's score
CONTEXT_RANGE = 1_000  # points whose range's middle splits values into low and high for contexts
CONTEXT_LENGTH = 3  # points in a context
CONTEXT_WARM_UP = 300  # points before a context can be new: fewer have not shown the usual ones yet
GAUSSIAN_WINDOW = 6_400  # NAB's windowed Gaussian baseline uses this many points
# The points before a point that its score can depend on: a query that reads this many before the first point it
# answers scores it as a read of the whole series would.
HISTORY = WINDOW + CONTEXT_RANGE + CONTEXT_LENGTH + GAP


def squash(distance: np.ndarray) -> np.ndarray:
    """A non-negative distance as a score in [0, 1)."""
    return distance / (1.0 + distance)


def _tiny(high: np.ndarray) -> np.ndarray:
    """The least range or deviation divided by: a flat history makes any change stand out, but not infinitely."""
    return 1e-9 + 1e-6 * np.abs(high)


def exceedance(values: np.ndarray, high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """How far each value lies outside its [low, high], as a score: 0 inside, 0.5 one range-width outside."""
    width = np.maximum(high - low, _tiny(high))
    with np.errstate(invalid="ignore"):
        distance = np.maximum(np.maximum(values - high, low - values) / width, 0.0)
    return squash(np.nan_to_num(distance, nan=0.0))


def running_extreme(values: np.ndarray, window: int, ufunc: np.ufunc) -> np.ndarray:
    """ufunc (np.maximum or np.minimum) of the `window` values before each point (fewer at the start; NaN for
    the first point), in O(n) by van Herk and Gil-Werman's blocks: a window spans at most two blocks of its own
    length, so it is the suffix of the one and the prefix of the other."""
    n = len(values)
    out = np.full(n, np.nan)
    if n < 2:
        return out
    blocks = -(-n // window)
    padded = np.full(blocks * window, values[-1])
    padded[:n] = values
    rows = padded.reshape(blocks, window)
    prefix = ufunc.accumulate(rows, axis=1).ravel()
    suffix = ufunc.accumulate(rows[:, ::-1], axis=1)[:, ::-1].ravel()
    last = np.arange(n - 1)  # the window of point i + 1 ends at i
    first = last - window + 1
    whole = first >= 0
    out[1:][~whole] = ufunc.accumulate(values[:-1])[~whole]
    out[1:][whole] = ufunc(suffix[first[whole]], prefix[last[whole]])
    return out


def range_exceedance(values: np.ndarray, window: int = WINDOW) -> np.ndarray:
    """Each point's exceedance of the range of the `window` points before it (0 during the warm-up)."""
    scores = exceedance(values, running_extreme(values, window, np.maximum),
                        running_extreme(values, window, np.minimum))
    scores[:WARM_UP] = 0.0
    return scores


def one_per_episode(scores: np.ndarray, gap: int = GAP) -> np.ndarray:
    """The scores with every extreme (a score of LEVEL or more) within `gap` points after another set to 0."""
    extremes = np.flatnonzero(scores >= LEVEL)
    scores[extremes[1:][np.diff(extremes) <= gap]] = 0.0
    return scores


def contexts(values: np.ndarray) -> np.ndarray:
    """Each point's context as an integer in [0, 4^CONTEXT_LENGTH): the sides of it and the points before it."""
    high = running_extreme(values, CONTEXT_RANGE, np.maximum)
    low = running_extreme(values, CONTEXT_RANGE, np.minimum)
    with np.errstate(invalid="ignore"):
        side = np.select([values < low, values < (high + low) / 2, values < high], [0, 1, 2], 3)
    code = np.zeros(len(values), dtype=np.int64)
    for lag in range(CONTEXT_LENGTH):
        code = code * 4 + np.concatenate((np.zeros(min(lag, len(side)), np.int64), side[:len(side) - lag]))
    return code


def new_contexts(values: np.ndarray, memory: int = WINDOW) -> np.ndarray:
    """Whether each point's context did not occur in the `memory` points before it (False during the warm-up):
    each occurrence is compared with the previous one of the same context, found by a stable sort."""
    codes = contexts(values)
    # 64 codes as int16 take numpy's radix sort: 0.04 s a million (0.22 s as int64)
    order = np.argsort(codes.astype(np.int16), kind="stable")
    repeat = np.zeros(len(codes), dtype=bool)
    repeat[1:] = codes[order][1:] == codes[order][:-1]
    previous = np.full(len(codes), -memory - 1)
    previous[order[repeat]] = order[np.flatnonzero(repeat) - 1]
    new = np.arange(len(codes)) - previous > memory
    new[:CONTEXT_WARM_UP] = False
    return new


def novelty(values, window: int = WINDOW, gap: int = GAP) -> np.ndarray:
    """Each point's exceedance of the range of the `window` points before it, one per episode."""
    return one_per_episode(range_exceedance(np.asarray(values, dtype=np.float64), window), gap)


def context(values, gap: int = GAP) -> np.ndarray:
    """novelty, with LEVEL for a point whose context is new, one per episode."""
    values = np.asarray(values, dtype=np.float64)
    return one_per_episode(np.maximum(range_exceedance(values), LEVEL * new_contexts(values)), gap)


def _window_sums(values: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """(count, sum) of the `window` values before each point, from one cumulative sum."""
    total = np.concatenate(([0.0], np.cumsum(values)))
    ends = np.arange(len(values))
    starts = np.maximum(ends - window, 0)
    return (ends - starts).astype(np.float64), total[ends] - total[starts]


def gaussian(values, window: int = GAUSSIAN_WINDOW) -> np.ndarray:
    """Each point's distance from the mean of the `window` points before it, in their standard deviations."""
    values = np.asarray(values, dtype=np.float64)
    centred = values - (values[0] if len(values) else 0.0)  # sums of squares stay exact enough
    count, total = _window_sums(centred, window)
    _, squares = _window_sums(centred * centred, window)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
        deviation = np.sqrt(np.maximum(squares / count - mean * mean, 0.0))
        distance = np.abs(centred - mean) / np.maximum(deviation, _tiny(mean))
    scores = squash(np.nan_to_num(distance, nan=0.0))
    scores[:WARM_UP] = 0.0
    return scores


DETECTORS = {"context": context, "novelty": novelty, "gaussian": gaussian}


def score_points(ts_ms, values, detector: str = "context") -> tuple[np.ndarray, np.ndarray]:
    """(timestamps in time order, their scores) of one series' points; a NaN value is absent and not scored."""
    ts = np.asarray(ts_ms, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    keep = ~np.isnan(values)
    order = np.argsort(ts[keep], kind="stable")
    return ts[keep][order], DETECTORS[detector](values[keep][order])


def last_of_windows(values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(score, present) of the last value of each window values[lo:hi] against the range of the values before
    it in the window (PromQL's anomaly_score(v[range])): range_exceedance with the window as the history, each
    step on its own, so no episodes and no contexts, which need the points before the window too."""
    present = hi - lo >= WARM_UP + 1
    last = np.maximum(hi - 1, 0)
    start = np.minimum(lo, last)
    if not len(values):
        return np.zeros(len(lo)), present
    high = np.fmax.reduceat(np.append(values, np.nan), np.ravel(np.column_stack((start, last))))[::2]
    low = np.fmin.reduceat(np.append(values, np.nan), np.ravel(np.column_stack((start, last))))[::2]
    return np.where(present, exceedance(values[last], high, low), 0.0), present
