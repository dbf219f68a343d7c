"""PromQL, evaluated over arrays: parse → plan → evaluate, with no HTTP and no storage of its own.

Give it a *source*, a function `source(matchers, start_ms, end_ms) -> list[RawSeries]` returning every
series whose labels satisfy all `matchers` (`Matcher.matches(value)`; the metric name is the label
`__name__`) with its samples in [start_ms, end_ms], times sorted ascending in ms. Then:

    from metrics_server import promql
    promql.evaluate_instant('sum by (job) (rate(http_requests_total[5m])) > 3', at_ms, source)
        -> [({"job": "api"}, 4.2), ...]            # list of (labels, value); a scalar is [({}, value)]
    promql.evaluate_range(expr, start_ms, end_ms, step_ms, source)
        -> [({"job": "api"}, times_ms, values), ...]  # numpy arrays, only the steps where it has a value
    promql.instant_query(...) / promql.range_query(...)
        -> Result(result_type, series): what the HTTP API answers ("vector", "scalar" or "matrix")

`expr` is PromQL text or a tree from `promql.parse(text)` (parse a rule once, evaluate it often). Every
failure is a `PromQLError` carrying `error_type` and `status` (400 bad syntax, 422 an unsupported
function or an evaluation error, naming it). Supported: Prometheus 2.42's PromQL for float samples (every
function of functions.FUNCTIONS, every aggregation of aggregations.py, subqueries, offset (negative too), `@`
with start()/end(), every binary operator with bool, on/ignoring, group_left/group_right, and/or/unless), and
staleness: a stale marker (protocols/prometheus.py's STALE_NAN_BITS) ends a series' lookback. Not supported: native
histograms. Checked against a real Prometheus in tests/protocols/test_promql_reference.py.
"""
import math
from typing import NamedTuple

import numpy as np

from metrics_server.promql.errors import EvaluationError, ParseError, PromQLError, TooMuchData, Unsupported
from metrics_server.promql.evaluate import (
    DEFAULT_LOOKBACK_MS,
    DEFAULT_MAX_SAMPLES,
    Evaluator,
    HourlySeries,
    RawSeries,
    Source,
)
from metrics_server.promql.nodes import Matcher, RangeSelector, Selector, Subquery
from metrics_server.promql.parse import parse
from metrics_server.promql.values import Scalar, key

MAX_STEPS = 11_000  # Prometheus' limit of points per series in a range query

__all__ = ["EvaluationError", "HourlySeries", "Matcher", "ParseError", "PromQLError", "RawSeries",
           "Result", "Source", "Selector", "TooMuchData", "Unsupported", "evaluate_instant", "evaluate_range",
           "instant_query", "parse", "range_query"]


class Result(NamedTuple):
    """A query's answer: `result_type` as in the Prometheus API, and (labels, times_ms, values) per series,
    sorted by labels."""

    result_type: str
    series: list


def _tree(expr):
    return parse(expr) if isinstance(expr, str) else expr


def instant_query(expr, at_ms: int, source: Source, lookback_ms: int = DEFAULT_LOOKBACK_MS,
                  max_samples: int = DEFAULT_MAX_SAMPLES) -> Result:
    """The expression at one instant: a vector, a scalar, or (for a bare range selector) a matrix."""
    tree = _tree(expr)
    evaluator = Evaluator(np.array([at_ms], dtype=np.int64), source, lookback_ms, max_samples)
    if isinstance(tree, RangeSelector | Subquery):
        found = [(w.labels, w.times[w.lo[0]:w.hi[0]], w.values[w.lo[0]:w.hi[0]])
                 for w in evaluator.range_windows(tree) if w.hi[0] > w.lo[0]]
        return Result("matrix", sorted(found, key=lambda item: key(item[0])))
    value = evaluator.eval(tree)
    at = np.array([at_ms], dtype=np.int64)
    if isinstance(value, Scalar):
        return Result("scalar", [({}, at, value.values)])
    found = [(s.labels, at, s.values) for s in value.series if s.present[0]]
    return Result("vector", sorted(found, key=lambda item: (value_order(item[2][0], value.order), key(item[0]))))


def value_order(value: float, order: str | None) -> tuple:
    """The value order of an instant answer of sort(), sort_desc(), topk() or bottomk(): NaN last, as Prometheus'."""
    if order is None:
        return ()
    return (math.isnan(value), 0.0 if math.isnan(value) else value if order == "asc" else -value)


def range_query(expr, start_ms: int, end_ms: int, step_ms: int, source: Source,
                lookback_ms: int = DEFAULT_LOOKBACK_MS, max_samples: int = DEFAULT_MAX_SAMPLES) -> Result:
    """The expression at start, start + step, ... ≤ end: a matrix of the steps where each series has a value."""
    if step_ms <= 0:
        raise PromQLError("zero or negative query resolution step widths are not accepted. "
                          "Try a positive integer")
    if end_ms < start_ms:
        raise PromQLError("end timestamp must not be before start time")
    if (end_ms - start_ms) // step_ms + 1 > MAX_STEPS:
        raise PromQLError("exceeded maximum resolution of 11,000 points per timeseries. "
                          "Try decreasing the query resolution (?step=XX)")
    tree = _tree(expr)
    if isinstance(tree, RangeSelector | Subquery):
        raise PromQLError('invalid expression type "range vector" for range query, '
                          "must be Scalar or instant Vector")
    steps = np.arange(start_ms, end_ms + 1, step_ms, dtype=np.int64)
    value = Evaluator(steps, source, lookback_ms, max_samples).eval(tree)
    if isinstance(value, Scalar):
        return Result("matrix", [({}, steps, value.values)])
    series = [(s.labels, steps[s.present], s.values[s.present]) for s in value.series if s.present.any()]
    return Result("matrix", sorted(series, key=lambda item: key(item[0])))


def evaluate_instant(expr, at_ms: int, source: Source, **limits) -> list[tuple[dict, float]]:
    """(labels, value) of each element of an instant vector, or [({}, value)] for a scalar (for rules)."""
    result = instant_query(expr, at_ms, source, **limits)
    if result.result_type == "matrix":
        raise PromQLError("a range vector cannot be evaluated at an instant; use a function such as rate()")
    return [(labels, float(values[0])) for labels, _, values in result.series]


def evaluate_range(expr, start_ms: int, end_ms: int, step_ms: int, source: Source,
                   **limits) -> list[tuple[dict, np.ndarray, np.ndarray]]:
    """(labels, times in ms, values) per series over a range (for rules and back-testing)."""
    return range_query(expr, start_ms, end_ms, step_ms, source, **limits).series
