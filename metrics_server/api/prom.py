"""The Prometheus HTTP query API under /api/v1 (docs/querying/api.md), for Grafana, promtool and vmalert.

Thin: parameters in (GET query string or POST form, as Prometheus accepts both), the PromQL engine
(metrics_server.promql) over the request's read gateway (query/promsource.py), Prometheus' envelope out:
`{"status": "success", "data": ...}` or `{"status": "error", "errorType": ..., "error": ...}`. Sample values are
strings ("NaN", "+Inf" included), formatted as Go's strconv.FormatFloat(v, 'f', -1, 64); times are seconds.
"""
import time
from datetime import datetime
from functools import wraps

import numpy as np
import promql_parser
from flask import Blueprint, request

from metrics_server import promql
from metrics_server.api.errors import is_driver_error
from metrics_server.api.lookup import gateway
from metrics_server.api.openapi import documented
from metrics_server.errors import ApiError, one_line
from metrics_server.jsonio import json_response
from metrics_server.limits import QueryTimeout
from metrics_server.promql.values import go_floats
from metrics_server.query.promsource import StoreSource
from metrics_server.query.timeparse import MAX_MS, MIN_MS

blueprint = Blueprint("prom", __name__)
BOTH = ("GET", "POST")
PROMETHEUS_VERSION = "2.42.0"  # the Prometheus whose PromQL semantics (and API) we follow, for Grafana's checks
TYPES = {"gauge": "gauge", "counter": "counter"}


def answer(view):
    """Run a view, turning every failure into Prometheus' error envelope with its status."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        try:
            with gateway().deadline():
                return json_response({"status": "success", "data": view(*args, **kwargs)})
        except promql.PromQLError as error:
            return failure(error.error_type, str(error), error.status)
        except QueryTimeout as error:
            return failure("timeout", error.message, 503)
        except ApiError as error:
            kind = {422: "execution", 503: "unavailable"}.get(error.status, "bad_data")
            return failure(kind, error.message, error.status)
        except Exception as error:
            if is_driver_error(error):
                return failure("unavailable", f"Cassandra is unavailable: {one_line(error)}", 503)
            raise
    return wrapped


def failure(error_type: str, message: str, status: int):
    return json_response({"status": "error", "errorType": error_type, "error": message}, status)


def source() -> StoreSource:
    """PromQL's view of the request's gateway: only the metrics its token's prefixes cover, within its budget."""
    return StoreSource(gateway())


def parse_time(name: str, default: float | None = None) -> int:
    """A parameter as ms: Unix seconds (with a fraction) or RFC 3339, as Prometheus' parseTime accepts; a 400
    naming the parameter unless it lies in years 0001..9999 (inf, NaN and 1e400 do not)."""
    text = request.values.get(name, "")
    if not text and default is not None:
        return int(round(default * 1000))
    try:
        seconds = float(text)
    except ValueError:
        try:
            seconds = datetime.fromisoformat(text).timestamp()
        except ValueError:
            raise promql.PromQLError(f'invalid parameter "{name}": cannot parse "{text}" to a valid timestamp') \
                from None
    if not MIN_MS <= seconds * 1000 <= MAX_MS:  # False for NaN too
        raise promql.PromQLError(f'invalid parameter "{name}": {text!r} is not a time in years 0001..9999')
    return int(round(seconds * 1000))


def parse_step(name: str) -> int:
    """A duration parameter as ms: seconds (a float) or a PromQL duration such as 15s or 1m30s, positive and at
    most the span of the times we accept."""
    text = request.values.get(name, "")
    try:
        seconds = float(text)
    except ValueError:
        try:
            seconds = promql_parser.parse_duration(text).total_seconds()
        except (ValueError, OverflowError):
            raise promql.PromQLError(f'invalid parameter "{name}": cannot parse "{text}" to a valid duration') \
                from None
    if not 0 < seconds * 1000 <= MAX_MS - MIN_MS:
        raise promql.PromQLError(f'invalid parameter "{name}": {text!r} is not a duration above 0 and within '
                                 "years 0001..9999 (zero or negative steps are not accepted)")
    return int(round(seconds * 1000))


def within_answer_limits(result: promql.Result) -> promql.Result:
    """The answer, unless it is larger than a query may answer (max_query_series series of an instant query,
    max_query_cells points of a range query): then a 422 that says what to narrow."""
    limits = gateway().limits
    if result.result_type == "vector" and len(result.series) > limits.max_series:
        raise promql.TooMuchData(f"the query answers {len(result.series)} series (at most {limits.max_series}, "
                                 "max_query_series); aggregate them (sum by (...)) or narrow the selector")
    points = sum(len(times) for _, times, _ in result.series)
    if points > limits.max_cells:
        raise promql.TooMuchData(f"the query answers {points} points (at most {limits.max_cells}, max_query_cells); "
                                 "shorten the range, raise the step, or aggregate the series")
    return result


def matchers_of(texts: list[str]) -> list[tuple]:
    """match[] selectors as matcher tuples; each must be a plain series selector."""
    found = []
    for text in texts:
        tree = promql.parse(text)
        if not isinstance(tree, promql.Selector):
            raise promql.PromQLError(f'invalid parameter "match[]": {text!r} is not a series selector')
        found.append(tree.matchers)
    return found


def seconds(ms: int) -> float | int:
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


def points(times, values) -> list:
    """[[time in seconds, value as Go writes it], ...] (pairs as tuples: orjson writes them as arrays)."""
    whole = np.all(times % 1000 == 0)
    return list(zip((times // 1000).tolist() if whole else [seconds(t) for t in times.tolist()], go_floats(values)))


def result_json(result: promql.Result) -> dict:
    """resultType and result in the Prometheus API's shape."""
    if result.result_type == "scalar":
        _, times, values = result.series[0]
        return {"resultType": "scalar", "result": points(times, values)[0]}
    if result.result_type == "vector":
        return {"resultType": "vector", "result": [{"metric": labels, "value": points(times, values)[0]}
                                                   for labels, times, values in result.series]}
    return {"resultType": "matrix", "result": [{"metric": labels, "values": points(times, values)}
                                               for labels, times, values in result.series]}


@blueprint.route("/v1/query", methods=BOTH)
@documented("PromQL at one instant (Prometheus API shape): query, time")
@answer
def query():
    expr = request.values.get("query", "")
    at = parse_time("time", default=time.time())
    return result_json(within_answer_limits(promql.instant_query(expr, at, source())))


@blueprint.route("/v1/query_range", methods=BOTH)
@documented("PromQL over a range (Prometheus API shape): query, start, end, step")
@answer
def query_range():
    expr = request.values.get("query", "")
    start, end, step = parse_time("start"), parse_time("end"), parse_step("step")
    return result_json(within_answer_limits(promql.range_query(expr, start, end, step, source())))


@blueprint.route("/v1/series", methods=BOTH)
@documented("Label sets of the series that match[] selects (Prometheus API shape)")
@answer
def series():
    selectors = request.values.getlist("match[]")
    if not selectors:
        raise promql.PromQLError("no match[] parameter provided")
    return [labels for _, _, labels in source().series(matchers_of(selectors))]


@blueprint.route("/v1/labels", methods=BOTH)
@documented("Label names (Prometheus API shape), optionally of the series match[] selects")
@answer
def labels():
    return source().label_names(matchers_of(request.values.getlist("match[]")))


@blueprint.get("/v1/label/<name>/values")
@documented("Values of one label (Prometheus API shape); __name__ lists metric names")
@answer
def label_values(name: str):
    return source().label_values(name, matchers_of(request.values.getlist("match[]")))


@blueprint.get("/v1/metadata")
@documented("Type, help and unit per metric (Prometheus API shape)")
@answer
def metadata():
    wanted = request.values.get("metric")
    return {metric.name: [{"type": TYPES[metric.type], "help": metric.description, "unit": metric.unit}]
            for metric in source().metrics() if wanted in (None, "", metric.name)}


@blueprint.get("/v1/status/buildinfo")
@documented("Build information (Prometheus API shape): the Prometheus version whose PromQL we follow")
@answer
def buildinfo():
    return {"version": PROMETHEUS_VERSION, "revision": "metrics_server", "branch": "", "buildUser": "",
            "buildDate": "", "goVersion": ""}
