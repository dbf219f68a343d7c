"""Evaluation of a parsed PromQL tree over a grid of steps, every node at all steps at once (numpy arrays).

An instant vector is a list of `Series` (labels, value per step, present per step): a query of 1 step (an
instant query) and one of 11,000 steps (a range query) run the same code. Selectors read their samples once,
through `source(matchers, start_ms, end_ms)`, for the whole grid. Semantics are Prometheus 2.42's: the
5-minute lookback (closed, [t - 5m, t]), closed range windows, metric names dropped by functions and
arithmetic, one-to-one matching on all labels but the name unless on()/ignoring() say otherwise.
"""
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from metrics_server.promql import windows
from metrics_server.promql.errors import EvaluationError, PromQLError, TooMuchData
from metrics_server.promql.parse import (
    ARITHMETIC,
    MATH_FUNCTIONS,
    Aggregate,
    Binary,
    Call,
    Matcher,
    Negate,
    Number,
    RangeSelector,
    Selector,
)
from metrics_server.query import anomaly

DEFAULT_LOOKBACK_MS = 5 * 60 * 1000
HOUR_MS = 3_600_000
HOURLY_FUNCTIONS = ("avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "count_over_time",
                    "last_over_time")  # answerable from rollups; rates need every sample to see counter resets
DEFAULT_MAX_SAMPLES = 5_000_000  # samples read by one query (Prometheus' --query.max-samples is 50 M)
NAME = "__name__"
DROPS_NAME = ("+", "-", "*", "/", "%", "^")  # Prometheus' shouldDropMetricName: arithmetic, not atan2
MATH = {"abs": np.abs, "ceil": np.ceil, "floor": np.floor, "exp": np.exp, "ln": np.log, "log2": np.log2,
        "log10": np.log10, "sqrt": np.sqrt}


class RawSeries(NamedTuple):
    """What a source returns per series: all labels (the metric name as `__name__`), sorted times in ms
    and their values."""

    labels: dict
    timestamps: np.ndarray
    values: np.ndarray


class HourlySeries(NamedTuple):
    """What a source's optional `hourly(matchers, start_ms, end_ms)` returns per series: its hourly rollup rows
    (arrays `start`, `count`, `sum`, `min`, `max`, `first`, `last`, `first_ts`, `last_ts`, one element per hour
    with samples, by time). It returns None when its rollups are not all up to date; raw samples are read then."""

    labels: dict
    rows: dict


Source = Callable[[tuple[Matcher, ...], int, int], list[RawSeries]]


@dataclass
class Series:
    labels: dict
    values: np.ndarray
    present: np.ndarray


@dataclass
class Vector:
    series: list


@dataclass
class Scalar:
    values: np.ndarray


def key(labels: dict) -> tuple:
    return tuple(sorted(labels.items()))


def without_name(labels: dict) -> dict:
    return {k: v for k, v in labels.items() if k != NAME}


def collect(series, strict: bool = False) -> Vector:
    """Series with equal label sets merged into one (present at different steps); equal label sets present
    at the same step (or at all, when strict, as for range functions) are Prometheus' error."""
    merged: dict[tuple, Series] = {}
    for item in series:
        if not item.present.any():
            continue
        k = key(item.labels)
        if k in merged:
            old = merged[k]
            if strict or (old.present & item.present).any():
                raise EvaluationError("vector cannot contain metrics with the same labelset")
            merged[k] = Series(old.labels, np.where(item.present, item.values, old.values),
                               old.present | item.present)
        else:
            merged[k] = item
    return Vector(list(merged.values()))


class Evaluator:
    """One query's evaluation: the step grid, the source, the lookback and the sample budget."""

    def __init__(self, steps: np.ndarray, source: Source, lookback_ms: int = DEFAULT_LOOKBACK_MS,
                 max_samples: int = DEFAULT_MAX_SAMPLES):
        self.steps = steps
        self.source = source
        self.lookback_ms = lookback_ms
        self.samples_left = max_samples
        self.max_samples = max_samples

    def fetch(self, selector: Selector, start_ms: int, end_ms: int) -> list[RawSeries]:
        """The selector's series with samples in [start, end], charged to the query's sample budget."""
        found = self.source(selector.matchers, int(start_ms), int(end_ms))
        self.samples_left -= sum(len(s.timestamps) for s in found)
        if self.samples_left < 0:
            raise TooMuchData(f"query processing would load more than {self.max_samples} samples")
        return [s for s in found if len(s.timestamps)]

    def fetch_hourly(self, selector: Selector, start_ms: int, end_ms: int) -> list[HourlySeries] | None:
        """The selector's hourly rollups when every step (less the offset) is on an hour and the source has them
        up to date: then a window's whole hours come from rollups and the sample at its end from the next hour's
        first (`first_ts` says whether it is exactly there). None means: read raw samples."""
        hourly = getattr(self.source, "hourly", None)
        if hourly is None or self.lookback_ms > HOUR_MS or ((self.steps - selector.offset_ms) % HOUR_MS).any():
            return None
        found = hourly(selector.matchers, int(start_ms), int(end_ms))
        if found is None:
            return None
        self.samples_left -= sum(len(s.rows["start"]) for s in found)
        if self.samples_left < 0:
            raise TooMuchData(f"query processing would load more than {self.max_samples} samples")
        return [s for s in found if len(s.rows["start"])]

    def eval(self, node):
        """Scalar or Vector for every node an expression may contain (range selectors only as arguments)."""
        if isinstance(node, Number):
            return Scalar(np.full(len(self.steps), node.value))
        if isinstance(node, Selector):
            return self.selector(node)
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, Aggregate):
            return self.aggregate(node)
        if isinstance(node, Binary):
            return self.binary(node)
        if isinstance(node, Negate):
            inner = self.eval(node.expr)
            if isinstance(inner, Scalar):
                return Scalar(-inner.values)
            return collect(Series(without_name(s.labels), -s.values, s.present) for s in inner.series)
        raise PromQLError("a range vector is not allowed here; use it as a function's argument, "
                          "e.g. rate(m[5m])")

    def selector(self, node: Selector) -> Vector:
        """The newest sample at or before each step, if it is at most the lookback old."""
        times = self.steps - node.offset_ms
        hourly = self.fetch_hourly(node, times[0] - HOUR_MS, times[-1] + HOUR_MS)
        if hourly is not None:
            return Vector([series for series in (hourly_selector(h.rows, h.labels, times, self.lookback_ms)
                                                 for h in hourly) if series.present.any()])
        out = []
        for raw in self.fetch(node, times[0] - self.lookback_ms, times[-1]):
            index = np.searchsorted(raw.timestamps, times, side="right") - 1
            safe = np.maximum(index, 0)
            present = (index >= 0) & (raw.timestamps[safe] >= times - self.lookback_ms)
            if present.any():
                out.append(Series(raw.labels, raw.values[safe], present))
        return Vector(out)

    def call(self, node: Call):
        if node.name == "time":
            return Scalar(self.steps / 1000)
        if node.name in MATH_FUNCTIONS:
            arg = self.eval(node.args[0])
            with np.errstate(all="ignore"):
                return collect(Series(without_name(s.labels), MATH[node.name](s.values), s.present)
                               for s in arg.series)
        if node.name == "vector":
            values = self.eval(node.args[0]).values
            return Vector([Series({}, values, np.ones(len(values), dtype=bool))])
        if node.name == "scalar":
            arg = self.eval(node.args[0]).series
            count = sum((s.present.astype(int) for s in arg), np.zeros(len(self.steps), dtype=int))
            value = sum((np.where(s.present, s.values, 0.0) for s in arg), np.zeros(len(self.steps)))
            return Scalar(np.where(count == 1, value, np.nan))
        if node.name == "histogram_quantile":
            return self.histogram_quantile(self.eval(node.args[0]).values, self.eval(node.args[1]))
        return self.range_function(node.name, node.args[0])

    def histogram_quantile(self, q: np.ndarray, buckets: Vector) -> Vector:
        """Prometheus' classic-histogram quantile: series grouped by their labels but `le` (name included), the
        name and `le` dropped from the result; at each step, the buckets present there (bucketQuantile)."""
        groups: dict[tuple, tuple[dict, list]] = {}
        for s in buckets.series:
            try:
                bound = float(s.labels.get("le", ""))
            except ValueError:
                continue  # no bucket label, or not a number: Prometheus skips the series
            rest = {k: v for k, v in s.labels.items() if k != "le"}
            groups.setdefault(key(rest), (without_name(rest), []))[1].append((bound, s))
        out = []
        for labels, members in groups.values():
            bounds = np.array([bound for bound, _ in members])
            counts = np.array([s.values for _, s in members])
            present = np.array([s.present for _, s in members])
            values = np.array([bucket_quantile(q[i], bounds[present[:, i]], counts[present[:, i], i])
                               for i in range(len(self.steps))])
            out.append(Series(labels, values, present.any(axis=0)))
        return Vector(out)

    def range_function(self, name: str, node: RangeSelector) -> Vector:
        """rate, increase, *_over_time...: each step's window [t - range, t] of each series."""
        ends = self.steps - node.selector.offset_ms
        starts = ends - node.range_ms
        out = []
        hourly = (self.fetch_hourly(node.selector, starts[0], ends[-1] + HOUR_MS)
                  if name in HOURLY_FUNCTIONS and node.range_ms % HOUR_MS == 0 else None)
        if hourly is not None:
            for h in hourly:
                result, present = hourly_over_time(name, h.rows, starts, ends)
                out.append(Series(h.labels if name == "last_over_time" else without_name(h.labels), result, present))
            return collect(out, strict=True)
        for raw in self.fetch(node.selector, starts[0], ends[-1]):
            times, values = raw.timestamps, raw.values
            lo = np.searchsorted(times, starts, side="left")
            hi = np.searchsorted(times, ends, side="right")
            if name in ("rate", "increase", "delta"):
                result, present = windows.extrapolated_rate(
                    times, values, lo, hi, starts, ends, counter=name != "delta", per_second=name == "rate",
                    range_s=node.range_ms / 1000)
            elif name in ("irate", "idelta"):
                result, present = windows.instant_rate(times, values, lo, hi, per_second=name == "irate")
            elif name == "anomaly_score":
                result, present = anomaly.last_of_windows(values, lo, hi)
            else:
                result, present = windows.over_time(name, values, lo, hi)
            labels = raw.labels if name == "last_over_time" else without_name(raw.labels)
            out.append(Series(labels, result, present))
        return collect(out, strict=True)

    def aggregate(self, node: Aggregate) -> Vector:
        """sum, avg, min, max, count, group by()/without(), step by step as Prometheus 2.42 adds them."""
        groups: dict[tuple, tuple[dict, list]] = {}
        for s in self.eval(node.expr).series:
            if node.without:
                labels = {k: v for k, v in s.labels.items() if k not in node.labels and k != NAME}
            else:
                labels = {k: s.labels[k] for k in node.labels if s.labels.get(k, "")}
            groups.setdefault(key(labels), (labels, []))[1].append(s)
        out = []
        zeros = np.zeros(len(self.steps))
        for labels, members in groups.values():
            count = sum((m.present.astype(float) for m in members), zeros)
            if node.op in ("count", "group"):
                value = count if node.op == "count" else np.ones(len(self.steps))
            elif node.op == "sum":
                value = zeros
                for m in members:
                    value = np.where(m.present, value + m.values, value)
            elif node.op == "avg":
                mean, seen = zeros, zeros
                with np.errstate(all="ignore"):
                    for m in members:
                        seen = seen + m.present
                        step = np.where(seen == 1, m.values, mean + m.values / seen - mean / seen)
                        mean = np.where(m.present, step, mean)
                value = mean
            else:
                ufunc = np.fmin if node.op == "min" else np.fmax
                value = np.full(len(self.steps), np.nan)
                for m in members:
                    value = np.where(m.present, ufunc(value, m.values), value)
            out.append(Series(labels, value, count > 0))
        return Vector(out)

    def binary(self, node: Binary):
        lhs, rhs = self.eval(node.lhs), self.eval(node.rhs)
        if isinstance(lhs, Scalar) and isinstance(rhs, Scalar):
            value, keep = operate(node.op, lhs.values, rhs.values)
            return Scalar(keep.astype(float) if node.op not in ARITHMETIC else value)
        if isinstance(rhs, Scalar) or isinstance(lhs, Scalar):
            return self.vector_scalar(node, lhs, rhs)
        return self.vector_vector(node, lhs, rhs)

    def vector_scalar(self, node: Binary, lhs, rhs) -> Vector:
        swap = isinstance(lhs, Scalar)
        vector, scalar = (rhs, lhs) if swap else (lhs, rhs)
        out = []
        for s in vector.series:
            left, right = (scalar.values, s.values) if swap else (s.values, scalar.values)
            value, keep = operate(node.op, left, right)
            if node.op not in ARITHMETIC:
                value = s.values  # a comparison keeps the vector's value, whichever side it is on
            present = s.present
            if node.return_bool:
                value = keep.astype(float)
            else:
                present = present & keep
            labels = without_name(s.labels) if node.op in DROPS_NAME or node.return_bool else s.labels
            out.append(Series(labels, value, present))
        return collect(out)

    def vector_vector(self, node: Binary, lhs: Vector, rhs: Vector) -> Vector:
        """Matching on label signatures; the "one" side must be unique per signature at every step."""
        swapped = node.card == "one-to-many"
        many, one = (rhs, lhs) if swapped else (lhs, rhs)
        ignored = set(node.labels) | {NAME}

        def signature(labels: dict) -> tuple:
            if node.on:
                return tuple((k, labels.get(k, "")) for k in sorted(node.labels))
            return tuple(sorted((k, v) for k, v in labels.items() if k not in ignored))

        ones: dict[tuple, list[Series]] = defaultdict(list)
        for s in one.series:
            ones[signature(s.labels)].append(s)
        for sig, group in ones.items():
            if len(group) > 1 and (sum(s.present.astype(int) for s in group) > 1).any():
                side = "left" if swapped else "right"
                raise EvaluationError(
                    f"found duplicate series for the match group {dict(sig)} on the {side} hand-side of the "
                    "operation;many-to-many matching not allowed: matching labels must be unique on one side")
        matched: dict[tuple, np.ndarray] = {}
        out = []
        for m in many.series:
            sig = signature(m.labels)
            for o in ones.get(sig, ()):
                left, right = (o.values, m.values) if swapped else (m.values, o.values)
                value, keep = operate(node.op, left, right)
                present = m.present & o.present
                if node.return_bool:
                    value = keep.astype(float)
                else:
                    present = present & keep
                if not present.any():
                    continue
                if node.card == "one-to-one":
                    if sig in matched and (matched[sig] & present).any():
                        raise EvaluationError("multiple matches for labels: many-to-one matching must be "
                                              "explicit (group_left/group_right)")
                    matched[sig] = matched.get(sig, False) | present
                out.append(Series(self.result_labels(node, m.labels, o.labels), value, present))
        try:
            return collect(out)
        except EvaluationError:
            raise EvaluationError("multiple matches for labels: grouping labels must ensure unique matches") from None

    @staticmethod
    def result_labels(node: Binary, many: dict, one: dict) -> dict:
        """Prometheus' resultMetric: the "many" side's labels, less the name for arithmetic, narrowed by
        on()/ignoring() for one-to-one, plus group_left/group_right's labels from the "one" side."""
        labels = dict(many)
        if node.op in DROPS_NAME or node.return_bool:
            labels.pop(NAME, None)
        if node.card == "one-to-one":
            labels = ({k: v for k, v in labels.items() if k in node.labels} if node.on
                      else {k: v for k, v in labels.items() if k not in node.labels})
        for name in node.include:
            if one.get(name):
                labels[name] = one[name]
            else:
                labels.pop(name, None)
        return labels


def bucket_quantile(q: float, bounds: np.ndarray, counts: np.ndarray) -> float:
    """Prometheus 2.42's bucketQuantile: linear interpolation in the bucket where the rank falls, after
    merging equal bounds and forcing counts to rise; NaN without a +Inf bucket or observations."""
    if math.isnan(q):
        return math.nan
    if q < 0 or q > 1:
        return -math.inf if q < 0 else math.inf
    order = np.argsort(bounds, kind="stable")
    bounds, counts = bounds[order], counts[order]
    if len(bounds) == 0 or bounds[-1] != math.inf:
        return math.nan
    bounds, first = np.unique(bounds, return_index=True)  # coalesce equal bounds, adding their counts
    counts = np.add.reduceat(counts, first)
    counts = np.fmax.accumulate(counts)  # ensureMonotonic
    if len(bounds) < 2 or counts[-1] == 0:
        return math.nan
    rank = q * counts[-1]
    b = int(np.searchsorted(counts[:-1], rank, side="left"))
    if b == len(bounds) - 1:
        return float(bounds[-2])
    if b == 0 and bounds[0] <= 0:
        return float(bounds[0])
    start, end, count = 0.0, bounds[b], counts[b]
    if b > 0:
        start, count, rank = bounds[b - 1], count - counts[b - 1], rank - counts[b - 1]
    return float(start + (end - start) * (rank / count))


def hourly_selector(rows: dict, labels: dict, times: np.ndarray, lookback_ms: int) -> Series:
    """An instant selector at hour-aligned times from hour rows: the sample exactly at t is the first of t's
    hour; otherwise the newest is the previous hour's last, if at most the lookback old."""
    at, before = hour_rows(rows["start"], times), hour_rows(rows["start"], times - HOUR_MS)
    exact = (at >= 0) & (rows["first_ts"][at] == times)
    recent = (before >= 0) & (rows["last_ts"][before] >= times - lookback_ms)
    return Series(labels, np.where(exact, rows["first"][at], rows["last"][before]), exact | recent)


def hourly_over_time(name: str, rows: dict, starts: np.ndarray, ends: np.ndarray):
    """*_over_time over [start, end] (whole hours) from hour rows: the hours in [start, end) plus the sample
    exactly at end, which is the first of end's hour."""
    hours = rows["start"]
    lo, hi = np.searchsorted(hours, starts, side="left"), np.searchsorted(hours, ends, side="left")
    at = hour_rows(hours, ends)
    exact = (at >= 0) & (rows["first_ts"][at] == ends)
    first_at = np.where(exact, rows["first"][at], np.nan)
    some = hi > lo
    count = np.where(some, windows.reduce_windows(np.add, rows["count"].astype(float), lo, hi), 0.0) + exact
    present = count > 0
    if name == "count_over_time":
        return count, present
    if name == "last_over_time":
        return np.where(exact, first_at, rows["last"][np.maximum(hi - 1, 0)]), present
    if name in ("min_over_time", "max_over_time"):
        ufunc = np.fmin if name == "min_over_time" else np.fmax
        column = rows["min" if name == "min_over_time" else "max"]
        return ufunc(np.where(some, windows.reduce_windows(ufunc, column, lo, hi), np.nan), first_at), present
    total = np.where(some, windows.reduce_windows(np.add, rows["sum"], lo, hi), 0.0) + np.where(exact, first_at, 0.0)
    if name == "sum_over_time":
        return total, present
    with np.errstate(all="ignore"):
        return total / count, present


def hour_rows(hours: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Index of the row of the hour starting at each time, or -1 where that hour has no row."""
    index = np.minimum(np.searchsorted(hours, times), len(hours) - 1)
    return np.where(hours[index] == times, index, -1)


def operate(op: str, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(value, keep) of one operator on two arrays; comparisons keep where true, arithmetic everywhere."""
    with np.errstate(all="ignore"):
        if op == "+":
            return left + right, np.ones(len(left), dtype=bool)
        if op == "-":
            return left - right, np.ones(len(left), dtype=bool)
        if op == "*":
            return left * right, np.ones(len(left), dtype=bool)
        if op == "/":
            return left / right, np.ones(len(left), dtype=bool)
        if op == "%":
            return np.fmod(left, right), np.ones(len(left), dtype=bool)
        if op == "^":
            return np.power(left, right), np.ones(len(left), dtype=bool)
        if op == "atan2":
            return np.arctan2(left, right), np.ones(len(left), dtype=bool)
        compare = {"==": np.equal, "!=": np.not_equal, ">": np.greater, "<": np.less, ">=": np.greater_equal,
                   "<=": np.less_equal}[op]
        return left, compare(left, right)
