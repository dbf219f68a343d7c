"""Per-bin aggregates of raw points or of stored rollups, vectorised over whole arrays."""
from dataclasses import dataclass

import numpy as np

from metrics_server.model import AGGS, PERCENTILES, ROLLUP_AGGS, ROLLUP_COLUMNS
from metrics_server.query.anomaly import score_points
from metrics_server.query.bins import bin_index

INT_KEYS = ("count", "first_ts", "last_ts")
FOLDS = {"count": np.add, "sum": np.add, "min": np.minimum, "max": np.maximum}
M4_KEYS = ("min", "max", "first", "last")


@dataclass(frozen=True)
class Groups:
    """Rows inside the edges in sorted order, cut into one run of rows per non-empty bin."""

    n_bins: int
    order: np.ndarray
    bins: np.ndarray
    starts: np.ndarray

    @property
    def stops(self) -> np.ndarray:
        """One past each run's last sorted row."""
        return np.append(self.starts, len(self.order))[1:]

    def reduce(self, ufunc: np.ufunc, column: np.ndarray) -> np.ndarray:
        """The ufunc (np.add, np.minimum, ...) folded over each run."""
        if not len(self.starts):
            return column[:0]
        return ufunc.reduceat(column[self.order], self.starts)

    def first(self, column: np.ndarray) -> np.ndarray:
        """The column at each run's first sorted row."""
        return column[self.order[self.starts]]

    def last(self, column: np.ndarray) -> np.ndarray:
        """The column at each run's last sorted row."""
        return column[self.order[self.stops - 1]]

    def spread(self, per_run: np.ndarray) -> np.ndarray:
        """One float per bin, NaN for a bin without rows: an empty bin is a gap, never 0."""
        out = np.full(self.n_bins, np.nan)
        out[self.bins] = per_run
        return out


def group(times, edges, key=None) -> Groups:
    """Rows sorted by time (then by key, ties in input order) and cut at the edges into runs, one per bin."""
    times = np.asarray(times, dtype=np.int64)
    edges = np.asarray(edges, dtype=np.int64)
    order = np.argsort(times, kind="stable") if key is None else np.lexsort((np.asarray(key), times))
    bounds = np.searchsorted(times[order], edges)
    bins = np.flatnonzero(np.diff(bounds))
    return Groups(len(edges) - 1, order[bounds[0]:bounds[-1]], bins, bounds[bins] - bounds[0])


def finite_points(ts_ms, values) -> tuple[np.ndarray, np.ndarray]:
    """Timestamps (int64) and values (float64) of the points whose value is not NaN: NaN means absent."""
    ts = np.asarray(ts_ms, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    if ts.shape != values.shape or ts.ndim != 1:
        raise ValueError(f"timestamps and values must be 1-d of one length; got {ts.shape} and {values.shape}")
    keep = ~np.isnan(values)
    return ts[keep], values[keep]


def points_as_rows(ts_ms, values) -> dict[str, np.ndarray]:
    """Raw points as one-point rollup rows, so raw and rollup data share one code path."""
    ts, values = finite_points(ts_ms, values)
    return {"start": ts, "count": np.ones(len(ts), dtype=np.int64), "sum": values, "min": values, "max": values,
            "first": values, "last": values, "first_ts": ts, "last_ts": ts}


def _merge(rows: dict, by_first: Groups, by_last: Groups, keys) -> dict[str, np.ndarray]:
    """The named rollup columns merged per run: sums, extremes, and first/last of the runs' first/last rows."""
    merged = {}
    for key in keys:
        column = np.asarray(rows[key], dtype=np.int64 if key in INT_KEYS else np.float64)
        if key in FOLDS:
            merged[key] = by_first.reduce(FOLDS[key], column)
        else:
            merged[key] = by_first.first(column) if key.startswith("first") else by_last.last(column)
    return merged


def _raw_groups(ts_ms, values, edges) -> tuple[dict, Groups, Groups]:
    """Raw points as rows in time order; the earliest and latest of a bin are its first and last rows."""
    rows = points_as_rows(ts_ms, values)
    groups = group(rows["start"], edges)
    return rows, groups, groups


def _rollup_groups(rows: dict, edges) -> tuple[dict, Groups, Groups]:
    """Rollup rows by bucket start, then first_ts (or last_ts): buckets nest in bins and never overlap,
    so a bin's first row in the one order holds its earliest point and its last row in the other its latest."""
    start = np.asarray(rows["start"], dtype=np.int64)
    return rows, group(start, edges, rows["first_ts"]), group(start, edges, rows["last_ts"])


def _as_rollup(rows: dict, by_first: Groups, by_last: Groups, edges) -> dict[str, np.ndarray]:
    """Rollup rows of the non-empty bins, each starting at its bin's start."""
    merged = _merge(rows, by_first, by_last, ROLLUP_COLUMNS)
    return {"start": np.asarray(edges, dtype=np.int64)[by_first.bins], **merged}


def _check(agg: str, allowed=AGGS) -> None:
    """Refuse an aggregate that is unknown, or that cannot come from these rows."""
    if agg not in allowed:
        known = "cannot be computed from rollups" if agg in AGGS else "is unknown"
        raise ValueError(f"aggregate {agg!r} {known}; expected one of {', '.join(allowed)}")


def _pick(rows: dict, by_first: Groups, by_last: Groups, agg: str) -> np.ndarray:
    """One of the rollup-computable aggregates per bin."""
    if agg == "avg":
        merged = _merge(rows, by_first, by_last, ("sum", "count"))
        return by_first.spread(merged["sum"] / merged["count"])
    return by_first.spread(_merge(rows, by_first, by_last, (agg,))[agg])


def rollup(ts_ms, values, edges) -> dict[str, np.ndarray]:
    """Pre-aggregates (start, count, sum, min, max, first, last, first_ts, last_ts) of the non-empty bins."""
    return _as_rollup(*_raw_groups(ts_ms, values, edges), edges)


def aggregate_rollups(rows: dict, edges, agg: str) -> np.ndarray:
    """One aggregate per bin from rollup rows nested in the bins; percentiles and rate need raw points."""
    _check(agg, ROLLUP_AGGS)
    return _pick(*_rollup_groups(rows, edges), agg)


def m4_rollups(rows: dict, edges) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-bin min, max, first and last from rollup rows nested in the bins."""
    rows, by_first, by_last = _rollup_groups(rows, edges)
    merged = _merge(rows, by_first, by_last, M4_KEYS)
    return tuple(by_first.spread(merged[key]) for key in M4_KEYS)


def m4(ts_ms, values, edges) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-bin min, max, first and last: all a line chart needs to draw each pixel column exactly (M4, VLDB 2014)."""
    rows, by_first, by_last = _raw_groups(ts_ms, values, edges)
    merged = _merge(rows, by_first, by_last, M4_KEYS)
    return tuple(by_first.spread(merged[key]) for key in M4_KEYS)


def aggregate(ts_ms, values, edges, agg: str) -> np.ndarray:
    """One aggregate per bin of raw points (unsorted, duplicates allowed); NaN for an empty bin, even for count.
    rate and anomaly (the highest anomaly score in the bin) take the points of one series."""
    _check(agg)
    if agg == "rate":
        return rate(ts_ms, values, edges)
    if agg == "anomaly":
        return _pick(*_raw_groups(*score_points(ts_ms, values), edges), "max")
    if agg in PERCENTILES:
        return percentile(ts_ms, values, edges, PERCENTILES[agg])
    return _pick(*_raw_groups(ts_ms, values, edges), agg)


def percentile(ts_ms, values, edges, q: float) -> np.ndarray:
    """The q-quantile of each bin, linearly interpolated between closest ranks (numpy's and pandas' default)."""
    ts, values = finite_points(ts_ms, values)
    n_bins = len(edges) - 1
    ranked = group(bin_index(ts, edges), np.arange(n_bins + 1), values)
    position = ranked.starts + q * (ranked.stops - 1 - ranked.starts)
    lower = values[ranked.order[np.floor(position).astype(np.int64)]]
    upper = values[ranked.order[np.ceil(position).astype(np.int64)]]
    return ranked.spread(lower + (upper - lower) * (position - np.floor(position)))


def rate(ts_ms, values, edges) -> np.ndarray:
    """Per-second increase of one counter per bin; a decrease is a reset, so the increase is the new value."""
    ts, values = finite_points(ts_ms, values)
    in_time = np.argsort(ts, kind="stable")
    ts, values = ts[in_time], values[in_time]
    increase = np.where(values[1:] >= values[:-1], values[1:] - values[:-1], values[1:])
    edges = np.asarray(edges, dtype=np.int64)
    pairs = group(ts[1:], edges)
    return pairs.spread(pairs.reduce(np.add, increase) / (np.diff(edges)[pairs.bins] / 1000))


def by_series(series: np.ndarray, rows: dict, edges, agg: str) -> tuple[np.ndarray, ...]:
    """One rollup-computable aggregate per series and non-empty bin of many series' rollup rows at once (raw
    points as one-point rows, points_as_rows; each series' rows in time order, nested in the bins), as the
    (series, bin, value) of each such cell: how a fold across thousands of series bins them with no Python
    loop over series."""
    _check(agg, ROLLUP_AGGS)
    edges = np.asarray(edges, dtype=np.int64)
    n_bins = len(edges) - 1
    bins = np.searchsorted(edges, rows["start"], side="right") - 1
    keep = (bins >= 0) & (bins < n_bins)
    key = series[keep] * n_bins + bins[keep]
    order = np.argsort(key, kind="stable")  # runs of one series and bin, still in time order
    key = key[order]
    if not len(key):
        return key, key, np.empty(0)
    starts = np.flatnonzero(np.append(True, key[1:] != key[:-1]))

    def column(name: str) -> np.ndarray:
        return np.asarray(rows[name])[keep][order]

    if agg in ("count", "avg"):
        counts = np.add.reduceat(column("count"), starts).astype(np.float64)
        cells = counts if agg == "count" else np.add.reduceat(column("sum"), starts) / counts
    elif agg in ("first", "last"):
        cells = column(agg)[starts if agg == "first" else np.append(starts[1:], len(key)) - 1]
    else:
        cells = FOLDS[agg].reduceat(column(agg), starts)
    return key[starts] // n_bins, key[starts] % n_bins, cells


def sum_series(arrays) -> np.ndarray:
    """Aligned series summed with NaN as missing; a bin missing in every series stays NaN."""
    if not len(arrays):
        raise ValueError("sum_series needs at least one series")
    stacked = np.vstack([np.asarray(a, dtype=np.float64) for a in arrays])
    return np.where(np.isnan(stacked).all(axis=0), np.nan, np.nansum(stacked, axis=0))


ACROSS = ("sum", "avg", "min", "max", "count")


class Across:
    """Aligned series (NaN = gap) folded into one line per bin, a few at a time, so that memory is one running
    sum, count, min and max per bin however many series are folded in; a bin no series has stays a gap."""

    def __init__(self, how: str, n_bins: int):
        if how not in ACROSS:
            raise ValueError(f"across must be one of {', '.join(ACROSS)}; got {how!r}")
        self.how = how
        self.count = np.zeros(n_bins, dtype=np.int64)
        self.sum = np.zeros(n_bins)
        self.min = np.full(n_bins, np.inf)
        self.max = np.full(n_bins, -np.inf)
        self.series = 0

    def add(self, values: np.ndarray) -> None:
        """Fold in one series' values per bin."""
        values = np.asarray(values, dtype=np.float64)
        present = ~np.isnan(values)
        self.series += 1
        self.count += present
        self.sum += np.where(present, values, 0.0)
        np.fmin(self.min, values, out=self.min)
        np.fmax(self.max, values, out=self.max)

    def add_cells(self, bins: np.ndarray, values: np.ndarray) -> None:
        """Fold in many series' values at once, as the (bin, value) of each non-empty cell (a series has at most
        one per bin); the caller counts the series in `series`."""
        n_bins = len(self.count)
        self.count += np.bincount(bins, minlength=n_bins)
        self.sum += np.bincount(bins, weights=values, minlength=n_bins)
        np.minimum.at(self.min, bins, values)
        np.maximum.at(self.max, bins, values)

    def result(self) -> np.ndarray:
        """The folded line: sum, avg, min, max, or how many series had a value, per bin (NaN where none had)."""
        folded = {"sum": self.sum, "count": self.count.astype(np.float64), "min": self.min, "max": self.max}
        with np.errstate(invalid="ignore", divide="ignore"):
            line = self.sum / self.count if self.how == "avg" else folded[self.how]
        return np.where(self.count > 0, line, np.nan)
