"""PromQL's functions, in one table: FUNCTIONS maps each name to how it evaluates, `fn(evaluator, args)` with the
argument nodes unevaluated (a range function asks the evaluator for its windows, the rest evaluate their
arguments). Adding a function is one entry here; parse.py accepts exactly the names of this table.

Semantics are Prometheus 2.42's promql/functions.go: metric names dropped by every function but last_over_time,
label_replace, label_join, sort and sort_desc; range functions over closed windows [t - range, t].
"""
import re

import numpy as np

from metrics_server.promql import windows
from metrics_server.promql.errors import EvaluationError, PromQLError
from metrics_server.promql.nodes import Matcher, Selector
from metrics_server.promql.values import NAME, Scalar, Series, Vector, collect, dropping_name, without_name
from metrics_server.query import anomaly

LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
GO_TEMPLATE = re.compile(r"\$(?:\$|\{(\w+)\}|(\w+))")  # Go regexp.Expand: $$, ${name}, $name
TRIGONOMETRY = {"sin": "sin", "cos": "cos", "tan": "tan", "asin": "arcsin", "acos": "arccos", "atan": "arctan",
                "sinh": "sinh", "cosh": "cosh", "tanh": "tanh", "asinh": "arcsinh", "acosh": "arccosh",
                "atanh": "arctanh"}
HOURLY = ("avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "count_over_time",
          "last_over_time")  # answerable from hourly rollups; the rest need every sample


def range_function(kernel, arg: int = 0, keeps_name: bool = False, hourly: str | None = None):
    """A function of one range argument (at position `arg`) and scalar parameters: `kernel(window, *params)`
    gives (value, present) per window, called once with every series' windows end to end (windows.combined)."""
    def run(ev, args):
        params = [ev.scalar(a) for i, a in enumerate(args) if i != arg]
        node = args[arg]
        found = ev.hourly_windows(hourly, node) if hourly else None
        if found is None:
            each = ev.range_windows(node)
            if not each:
                return Vector([])
            value, present = kernel(windows.combined(each), *(np.tile(p, len(each)) for p in params))
            value, present = value.reshape(len(each), -1), present.reshape(len(each), -1)
            found = [Series(w.labels if keeps_name else without_name(w.labels), value[i], present[i])
                     for i, w in enumerate(each)]
        return collect(found, strict=True)
    return run


def elementwise(operation):
    """A function applied to each value of an instant vector (extra scalar arguments per step), name dropped."""
    def run(ev, args):
        params = [ev.scalar(a) for a in args[1:]]
        return dropping_name(ev.eval(args[0]), lambda s: operation(s.values, *params))
    return run


def rounded(values, to_nearest=None):
    """round(v, to_nearest=1): halves rounded up, as Go's math.Floor(v/to_nearest + 0.5) * to_nearest."""
    inverse = 1.0 if to_nearest is None else 1.0 / to_nearest
    return np.floor(values * inverse + 0.5) / inverse


def clamp(ev, args):
    """clamp(v, min, max): nothing at a step where max < min."""
    low, high = ev.scalar(args[1]), ev.scalar(args[2])
    vector = dropping_name(ev.eval(args[0]), lambda s: np.maximum(low, np.minimum(high, s.values)))
    return Vector([Series(s.labels, s.values, s.present & ~(high < low)) for s in vector.series])


def seconds_of(ev, args):
    """A date function's input: each value of its argument as Unix seconds, or vector(time())."""
    if args:
        return ev.eval(args[0])
    return Vector([Series({}, ev.steps / 1000, np.ones(len(ev.steps), dtype=bool))])


def date_function(part):
    """day_of_month(), hour(v)...: a calendar field (UTC) of each value taken as Unix seconds."""
    def run(ev, args):
        def field(series):
            finite = np.isfinite(series.values)
            seconds = np.where(finite, np.trunc(series.values), 0).astype(np.int64)
            return np.where(finite, part(seconds.astype("datetime64[s]"), seconds).astype(float), np.nan)
        return dropping_name(seconds_of(ev, args), field)
    return run


def days_in_month(moment, _):
    month = moment.astype("datetime64[M]")
    return ((month + 1).astype("datetime64[D]") - month.astype("datetime64[D]")).astype(int)


DATE_PARTS = {
    "year": lambda m, _: m.astype("datetime64[Y]").astype(int) + 1970,
    "month": lambda m, _: m.astype("datetime64[M]").astype(int) % 12 + 1,
    "day_of_month": lambda m, _: (m.astype("datetime64[D]") - m.astype("datetime64[M]")).astype(int) + 1,
    "day_of_year": lambda m, _: (m.astype("datetime64[D]") - m.astype("datetime64[Y]")).astype(int) + 1,
    "day_of_week": lambda _, s: (s // 86_400 + 4) % 7,  # 1970-01-01 was a Thursday; Sunday is 0
    "days_in_month": days_in_month,
    "hour": lambda _, s: s // 3600 % 24,
    "minute": lambda _, s: s // 60 % 60,
}


def timestamp(ev, args):
    """timestamp(v): each sample's time in seconds for a selector, the evaluation time for anything else."""
    if isinstance(args[0], Selector):
        return ev.selector(args[0], sample_times=True)
    return dropping_name(ev.eval(args[0]), lambda s: ev.steps / 1000)


def vector(ev, args):
    values = ev.scalar(args[0])
    return Vector([Series({}, values, np.ones(len(values), dtype=bool))])


def scalar(ev, args):
    """scalar(v): the value of a one-element vector, NaN at steps with none or several."""
    members = ev.eval(args[0]).series
    count = sum((s.present.astype(int) for s in members), np.zeros(len(ev.steps), dtype=int))
    value = sum((np.where(s.present, s.values, 0.0) for s in members), np.zeros(len(ev.steps)))
    return Scalar(np.where(count == 1, value, np.nan))


def absent(ev, args):
    """absent(v): 1 where v has no element, labelled with the selector's equality matchers."""
    present = np.zeros(len(ev.steps), dtype=bool)
    for s in ev.eval(args[0]).series:
        present |= s.present
    return Vector([Series(absent_labels(args[0]), np.ones(len(ev.steps)), ~present)])


def absent_over_time(ev, args):
    """absent_over_time(m[r]): 1 where no series has a sample in the window."""
    present = np.zeros(len(ev.steps), dtype=bool)
    for w in ev.range_windows(args[0]):
        present |= w.hi > w.lo
    return Vector([Series(absent_labels(args[0]), np.ones(len(ev.steps)), ~present)])


def absent_labels(node) -> dict:
    """Prometheus' createLabelsForAbsentFunction: name="value" matchers of a selector, but a label matched twice."""
    matchers = [m for m in getattr(getattr(node, "selector", node), "matchers", ()) if m.name != NAME]
    names = [m.name for m in matchers]
    return {m.name: m.value for m in matchers if m.op == "=" and names.count(m.name) == 1}


def label_replace(ev, args):
    """label_replace(v, dst, replacement, src, regex): dst set from the anchored regex's match of src."""
    dst, replacement, src, pattern = (a.value for a in args[1:])
    regex = Matcher.of(src, "=~", pattern).regex  # regexes compile in one place, the matchers'
    valid_label_name(dst)
    out = []
    for s in ev.eval(args[0]).series:
        match = regex.fullmatch(s.labels.get(src, ""))
        labels = s.labels if match is None else relabelled(s.labels, dst, expand(match, replacement))
        out.append(Series(labels, s.values, s.present))
    return collect(out)


def expand(match, template: str) -> str:
    """Go's Regexp.Expand: $1, ${1}, $name, ${name}, $$; an unknown group is empty."""
    def group(ref):
        if ref.group(0) == "$$":
            return "$"
        name = ref.group(1) or ref.group(2)
        try:
            return match.group(int(name) if name.isdigit() else name) or ""
        except IndexError:  # no such group
            return ""
    return GO_TEMPLATE.sub(group, template)


def label_join(ev, args):
    """label_join(v, dst, separator, src...): dst set to the src labels' values joined."""
    dst, separator, *sources = (a.value for a in args[1:])
    valid_label_name(dst)
    out = []
    for s in ev.eval(args[0]).series:
        joined = separator.join(s.labels.get(name, "") for name in sources)
        out.append(Series(relabelled(s.labels, dst, joined), s.values, s.present))
    return collect(out)


def valid_label_name(name: str) -> None:
    if not LABEL_NAME.fullmatch(name):
        raise EvaluationError(f"invalid destination label name in label function: {name!r}")


def relabelled(labels: dict, name: str, value: str) -> dict:
    """labels with `name` set to value, or removed when the value is empty."""
    out = {k: v for k, v in labels.items() if k != name}
    if value:
        out[name] = value
    return out


def sort(order: str):
    """sort/sort_desc: no effect on a range query; an instant query answers in value order."""
    def run(ev, args):
        return Vector(ev.eval(args[0]).series, order)
    return run


def histogram_quantile(ev, args):
    return ev.histogram_quantile(ev.scalar(args[0]), ev.eval(args[1]))


def smoothing(w, sf, tf):
    """holt_winters' parameters must lie strictly between 0 and 1, as Prometheus checks."""
    for name, factor in (("smoothing", sf), ("trend", tf)):
        if ((factor <= 0) | (factor >= 1)).any():
            raise PromQLError(f"invalid {name} factor. Expected: 0 < {name[0]}f < 1, got: {factor[0]}")
    return windows.double_exponential_smoothing(w, sf, tf)


def over_time(name):
    return range_function(lambda w: windows.over_time(name, w.values, w.lo, w.hi),
                          keeps_name=name == "last_over_time", hourly=name if name in HOURLY else None)


def rate(name):
    counter, per_second = name != "delta", name == "rate"
    return range_function(lambda w: windows.extrapolated_rate(w.times, w.values, w.lo, w.hi, w.starts, w.ends,
                                                              counter, per_second, (w.ends[0] - w.starts[0]) / 1000))


FUNCTIONS = {
    "rate": rate("rate"),
    "increase": rate("increase"),
    "delta": rate("delta"),
    "irate": range_function(lambda w: windows.instant_rate(w.times, w.values, w.lo, w.hi, per_second=True)),
    "idelta": range_function(lambda w: windows.instant_rate(w.times, w.values, w.lo, w.hi, per_second=False)),
    **{name: over_time(name) for name in HOURLY},
    "quantile_over_time": range_function(windows.quantile_over_time, arg=1),
    "stddev_over_time": over_time("stddev_over_time"),
    "stdvar_over_time": over_time("stdvar_over_time"),
    "mad_over_time": range_function(windows.mad_over_time),
    "present_over_time": range_function(lambda w: (np.ones(len(w.lo)), w.hi > w.lo)),
    "absent_over_time": absent_over_time,
    "changes": range_function(lambda w: windows.counted_changes(w, resets=False)),
    "resets": range_function(lambda w: windows.counted_changes(w, resets=True)),
    "deriv": range_function(lambda w: windows.linear_fit(w, None, None)),
    "predict_linear": range_function(lambda w, seconds: windows.linear_fit(w, w.steps, seconds)),
    "holt_winters": range_function(smoothing),
    "double_exponential_smoothing": range_function(smoothing),  # holt_winters' name in Prometheus 3
    "abs": elementwise(np.abs),
    "ceil": elementwise(np.ceil),
    "floor": elementwise(np.floor),
    "exp": elementwise(np.exp),
    "ln": elementwise(np.log),
    "log2": elementwise(np.log2),
    "log10": elementwise(np.log10),
    "sqrt": elementwise(np.sqrt),
    "sgn": elementwise(np.sign),
    **{name: elementwise(getattr(np, numpy_name)) for name, numpy_name in TRIGONOMETRY.items()},
    "rad": elementwise(np.radians),
    "deg": elementwise(np.degrees),
    "pi": lambda ev, args: Scalar(np.full(len(ev.steps), np.pi)),
    "round": elementwise(rounded),
    "clamp": clamp,
    "clamp_min": elementwise(lambda v, low: np.maximum(low, v)),
    "clamp_max": elementwise(lambda v, high: np.minimum(high, v)),
    **{name: date_function(part) for name, part in DATE_PARTS.items()},
    "timestamp": timestamp,
    "time": lambda ev, args: Scalar(ev.steps / 1000),
    "vector": vector,
    "scalar": scalar,
    "absent": absent,
    "label_replace": label_replace,
    "label_join": label_join,
    "sort": sort("asc"),
    "sort_desc": sort("desc"),
    "histogram_quantile": histogram_quantile,
    # Ours (an extension, as MetricsQL has its own): the last sample's anomaly score within its window.
    "anomaly_score": range_function(lambda w: anomaly.last_of_windows(w.values, w.lo, w.hi)),
}
