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
from typing import NamedTuple

import numpy as np

from metrics_server.promql import windows
from metrics_server.promql.aggregations import aggregate
from metrics_server.promql.errors import EvaluationError, PromQLError, TooMuchData
from metrics_server.promql.functions import FUNCTIONS
from metrics_server.promql.nodes import (
    ARITHMETIC,
    SET_OPERATORS,
    Aggregate,
    Binary,
    Call,
    Matcher,
    Negate,
    Number,
    RangeSelector,
    Selector,
    Subquery,
)
from metrics_server.promql.values import NAME, Scalar, Series, Vector, collect, key, without_name
from metrics_server.protocols.prometheus import is_stale

DEFAULT_LOOKBACK_MS = 5 * 60 * 1000
DEFAULT_SUBQUERY_STEP_MS = 60_000  # Prometheus' default evaluation_interval, a subquery's step when it names none
MAX_SUBQUERY_STEPS = 1_000_000  # inner steps of one subquery (each evaluates the inner expression)
HOUR_MS = 3_600_000
DEFAULT_MAX_SAMPLES = 5_000_000  # samples read by one query (Prometheus' --query.max-samples is 50 M)
DROPS_NAME = ("+", "-", "*", "/", "%", "^")  # Prometheus' shouldDropMetricName: arithmetic, not atan2


class RawSeries(NamedTuple):
    """What a source returns per series: all labels (the metric name as `__name__`), sorted times in ms
    and their values."""

    labels: dict
    timestamps: np.ndarray
    values: np.ndarray


class HourlySeries(NamedTuple):
    """What a source's optional `hourly(matchers, start_ms, end_ms, agg)` returns per series (agg names what the rows
    will answer: last for a selector, avg for avg_over_time...): its hourly rollup rows
    (arrays `start`, `count`, `sum`, `min`, `max`, `first`, `last`, `first_ts`, `last_ts`, one element per hour
    with samples, by time). It returns None when its rollups are not all up to date; raw samples are read then."""

    labels: dict
    rows: dict


Source = Callable[[tuple[Matcher, ...], int, int], list[RawSeries]]


def newest_samples(found: list[RawSeries], times: np.ndarray, lookback_ms: int):
    """(series, sample times, values, present) of each series: its newest sample at or before each time, present
    where it is at most the lookback old and not a stale marker. Series are taken in groups, each group's samples
    end to end with every series' times shifted past the one before, so that one searchsorted serves the group
    (a call per series cost ~20 µs: 1 ms of a 50-series sum); a group's arrays hold at most windows.BLOCK_CELLS
    steps and its shifted times fit an int64."""
    if not found:
        return
    low = min(int(times.min()), min(int(raw.timestamps[0]) for raw in found))
    span = max(int(times.max()), max(int(raw.timestamps[-1]) for raw in found)) - low + 1
    size = max(1, min(windows.BLOCK_CELLS // len(times), (1 << 62) // span))
    for first in range(0, len(found), size):
        group = found[first:first + size]
        sizes = np.array([len(raw.timestamps) for raw in group])
        ts = np.concatenate([raw.timestamps for raw in group])
        values = np.concatenate([raw.values for raw in group])
        shift = np.arange(len(group), dtype=np.int64) * span
        index = np.searchsorted(ts - low + np.repeat(shift, sizes), (times - low) + shift[:, None], side="right") - 1
        safe = np.maximum(index, 0)
        sampled, newest = ts[safe], values[safe]
        present = (index >= (np.cumsum(sizes) - sizes)[:, None]) & (sampled >= times - lookback_ms) \
            & ~is_stale(newest)
        yield from zip(group, sampled, newest, present)


class Budget:
    """The samples one query may still read, shared by its subqueries."""

    def __init__(self, max_samples: int):
        self.max_samples = max_samples
        self.left = max_samples

    def charge(self, samples: int) -> None:
        self.left -= samples
        if self.left < 0:
            raise TooMuchData(f"query processing would load more than {self.max_samples} samples")


class Evaluator:
    """One query's evaluation: the step grid, the source, the lookback and the sample budget. `query` is the
    (start, end) of the query as asked, which @ start() and @ end() mean inside subqueries too."""

    def __init__(self, steps: np.ndarray, source: Source, lookback_ms: int = DEFAULT_LOOKBACK_MS,
                 max_samples: int = DEFAULT_MAX_SAMPLES, query: tuple[int, int] | None = None,
                 budget: Budget | None = None):
        self.steps = steps
        self.source = source
        self.lookback_ms = lookback_ms
        self.query = query or (int(steps[0]), int(steps[-1]))
        self.budget = budget or Budget(max_samples)

    def times(self, offset_ms: int, at) -> np.ndarray:
        """The times a selector or subquery reads at, per step: the step (or its @ time) less the offset."""
        if at is None:
            return self.steps - offset_ms
        at_ms = self.query[0] if at == "start" else self.query[1] if at == "end" else at
        return np.full(len(self.steps), at_ms - offset_ms, dtype=np.int64)

    def fetch(self, selector: Selector, start_ms: int, end_ms: int) -> list[RawSeries]:
        """The selector's series with samples in [start, end], charged to the query's sample budget."""
        found = self.source(selector.matchers, int(start_ms), int(end_ms))
        self.budget.charge(sum(len(s.timestamps) for s in found))
        # in Prometheus' order (by labels): the order sums and means add in, and ties of topk keep
        return sorted((s for s in found if len(s.timestamps)), key=lambda s: key(s.labels))

    def fetch_hourly(self, selector: Selector, times: np.ndarray, start_ms: int, end_ms: int,
                     agg: str) -> list[HourlySeries] | None:
        """The selector's hourly rollups when every time is on an hour and the source has them up to date: then a
        window's whole hours come from rollups and the sample at its end from the next hour's first (`first_ts`
        says whether it is exactly there). None means: read raw samples."""
        hourly = getattr(self.source, "hourly", None)
        if hourly is None or self.lookback_ms > HOUR_MS or (times % HOUR_MS).any():
            return None
        found = hourly(selector.matchers, int(start_ms), int(end_ms), agg)
        if found is None:
            return None
        self.budget.charge(sum(len(s.rows["start"]) for s in found))
        return [s for s in found if len(s.rows["start"])]

    def eval(self, node):
        """Scalar or Vector for every node an expression may contain (range selectors only as arguments)."""
        if isinstance(node, Number):
            return Scalar(np.full(len(self.steps), node.value))
        if isinstance(node, Selector):
            return self.selector(node)
        if isinstance(node, Call):
            return FUNCTIONS[node.name](self, node.args)
        if isinstance(node, Aggregate):
            param = self.scalar(node.param) if node.param is not None and not isinstance(node.param, str) \
                else node.param
            return aggregate(node.op, self.eval(node.expr).series, node.labels, node.without, param, self.steps)
        if isinstance(node, Binary):
            return self.binary(node)
        if isinstance(node, Negate):
            inner = self.eval(node.expr)
            if isinstance(inner, Scalar):
                return Scalar(-inner.values)
            return collect(Series(without_name(s.labels), -s.values, s.present) for s in inner.series)
        raise PromQLError("a range vector is not allowed here; use it as a function's argument, "
                          "e.g. rate(m[5m])")

    def scalar(self, node) -> np.ndarray:
        """A scalar argument's value per step."""
        return self.eval(node).values

    def selector(self, node: Selector, sample_times: bool = False) -> Vector:
        """The newest sample at or before each step, if it is at most the lookback old and not a stale marker;
        with sample_times, its time in seconds instead of its value (timestamp()), the name dropped."""
        times = self.times(node.offset_ms, node.at)
        hourly = None if sample_times else self.fetch_hourly(node, times, times[0] - HOUR_MS,
                                                             times[-1] + HOUR_MS, "last")
        if hourly is not None:
            return Vector([series for series in (hourly_selector(h.rows, h.labels, times, self.lookback_ms)
                                                 for h in hourly) if series.present.any()])
        out = []
        for raw, sampled, values, present in newest_samples(self.fetch(node, times[0] - self.lookback_ms, times[-1]),
                                                             times, self.lookback_ms):
            if present.any():
                if sample_times:
                    out.append(Series(without_name(raw.labels), sampled / 1000, present))
                else:
                    out.append(Series(raw.labels, values, present))
        return Vector(out)

    def range_windows(self, node) -> list[windows.Window]:
        """Each series' samples and its window [t - range, t] per step, of a range selector or a subquery (whose
        inner expression is evaluated at the multiples of its step inside the windows); stale markers left out."""
        inner = node.selector if isinstance(node, RangeSelector) else node
        ends = self.times(inner.offset_ms, inner.at)
        starts = ends - node.range_ms
        if isinstance(node, RangeSelector):
            found = [(raw.labels, raw.timestamps, raw.values) for raw in self.fetch(node.selector, starts[0], ends[-1])]
        else:
            found = self.subquery(node, int(starts.min()), int(ends.max()))
        out = []
        for labels, times, values in found:
            fresh = ~is_stale(values)
            if not fresh.all():
                times, values = times[fresh], values[fresh]
            lo = np.searchsorted(times, starts, side="left")
            hi = np.searchsorted(times, ends, side="right")
            out.append(windows.Window(labels, times, values, lo, hi, starts, ends, self.steps))
        return out

    def subquery(self, node: Subquery, start_ms: int, end_ms: int) -> list[tuple[dict, np.ndarray, np.ndarray]]:
        """(labels, times, values) of the inner expression at the multiples of the step in [start, end]."""
        step = node.step_ms or DEFAULT_SUBQUERY_STEP_MS
        first = -(-start_ms // step) * step
        if (end_ms - first) // step + 1 > MAX_SUBQUERY_STEPS:
            raise TooMuchData(f"the subquery would evaluate more than {MAX_SUBQUERY_STEPS} steps; "
                              "use a larger subquery step or a shorter range")
        steps = np.arange(first, end_ms + 1, step, dtype=np.int64)
        if len(steps) == 0:
            return []
        value = Evaluator(steps, self.source, self.lookback_ms, query=self.query, budget=self.budget).eval(node.expr)
        series = [Series({}, value.values, np.ones(len(steps), dtype=bool))] if isinstance(value, Scalar) \
            else value.series
        self.budget.charge(sum(int(s.present.sum()) for s in series))
        return [(s.labels, steps[s.present], s.values[s.present]) for s in series if s.present.any()]

    def hourly_windows(self, name: str, node) -> list[Series] | None:
        """*_over_time of whole hours from hourly rollups, or None where raw samples must be read."""
        if not isinstance(node, RangeSelector) or node.range_ms % HOUR_MS:
            return None
        ends = self.times(node.selector.offset_ms, node.selector.at)
        starts = ends - node.range_ms
        hourly = self.fetch_hourly(node.selector, ends, starts[0], ends[-1] + HOUR_MS,
                                   name.removesuffix("_over_time"))
        if hourly is None:
            return None
        out = []
        for h in hourly:
            result, present = hourly_over_time(name, h.rows, starts, ends)
            out.append(Series(h.labels if name == "last_over_time" else without_name(h.labels), result, present))
        return out

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
        return collect(out)  # equal label sets once the name is dropped are Prometheus' error

    def binary(self, node: Binary):
        lhs, rhs = self.eval(node.lhs), self.eval(node.rhs)
        if isinstance(lhs, Scalar) and isinstance(rhs, Scalar):
            value, keep = operate(node.op, lhs.values, rhs.values)
            return Scalar(keep.astype(float) if node.op not in ARITHMETIC else value)
        if isinstance(rhs, Scalar) or isinstance(lhs, Scalar):
            return self.vector_scalar(node, lhs, rhs)
        if node.op in SET_OPERATORS:
            return set_operation(node, lhs, rhs, len(self.steps))
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
        ones: dict[tuple, list[Series]] = defaultdict(list)
        for s in one.series:
            ones[signature(node, s.labels)].append(s)
        for sig, group in ones.items():
            if len(group) > 1 and (sum(s.present.astype(int) for s in group) > 1).any():
                side = "left" if swapped else "right"
                raise EvaluationError(
                    f"found duplicate series for the match group {dict(sig)} on the {side} hand-side of the "
                    "operation;many-to-many matching not allowed: matching labels must be unique on one side")
        matched: dict[tuple, np.ndarray] = {}
        out = []
        for m in many.series:
            sig = signature(node, m.labels)
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


def signature(node: Binary, labels: dict) -> tuple:
    """The labels two sides match on: those of on(...), or all but ignoring(...)'s and the name."""
    if node.on:
        return tuple((k, labels.get(k, "")) for k in sorted(node.labels))
    return tuple(sorted((k, v) for k, v in labels.items() if k not in node.labels and k != NAME))


def set_operation(node: Binary, lhs: Vector, rhs: Vector, steps: int) -> Vector:
    """and, or, unless, step by step: the left side's elements kept where the right has (and) or has not (unless)
    an element of the same signature; or adds the right side's elements whose signature the left lacks."""
    def presence(vector: Vector) -> dict[tuple, np.ndarray]:
        found: dict[tuple, np.ndarray] = {}
        for s in vector.series:
            sig = signature(node, s.labels)
            found[sig] = found.get(sig, False) | s.present
        return found
    none = np.zeros(steps, dtype=bool)
    if node.op == "or":
        left = presence(lhs)
        extra = [Series(s.labels, s.values, s.present & ~left.get(signature(node, s.labels), none))
                 for s in rhs.series]
        return collect([*lhs.series, *extra])
    right = presence(rhs)
    wanted = node.op == "and"
    kept = (Series(s.labels, s.values, s.present & (right.get(signature(node, s.labels), none) == wanted))
            for s in lhs.series)
    return Vector([s for s in kept if s.present.any()])


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
