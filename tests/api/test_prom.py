"""The Prometheus query API (/api/v1/...) on the real app and a real Cassandra: response shapes exactly as
Prometheus' docs/querying/api.md gives them, GET and form POST, errors in Prometheus' envelope."""
import time

import pytest
import webtest

from metrics_server.app import create_app
from metrics_server.storage.registry import CACHE_SECONDS
from tests.conftest import ADMIN_TOKEN

T0 = 1_700_000_000  # seconds


@pytest.fixture
def counter(client, name):
    """A counter with a reset, two instances, samples every 15 s for 10 minutes."""
    items = []
    for instance, slope in (("a", 2.0), ("b", 0.5)):
        value = 0.0
        for i in range(41):
            value = 3.0 if (instance == "a" and i == 20) else value + slope * 15
            items.append({"name": name, "labels": {"instance": instance, "job": "api"}, "value": value,
                          "timestamp": (T0 + 15 * i) * 1000})
    client.post_json("/api/write", items, status=201)
    return name


def test_one_plus_one_answers_grafanas_save_and_test_by_get_and_by_post(client):
    for response in (client.get("/api/v1/query", {"query": "1+1", "time": T0}),
                     client.post("/api/v1/query", {"query": "1+1", "time": T0})):
        assert response.json == {"status": "success", "data": {"resultType": "scalar", "result": [T0, "2"]}}


def test_instant_vector_shape_with_string_values_and_second_timestamps(client, counter):
    body = client.get("/api/v1/query", {"query": f'{counter}{{instance="b"}}', "time": T0 + 600.5}).json
    assert body == {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"__name__": counter, "instance": "b", "job": "api"}, "value": [T0 + 600.5, "307.5"]}]}}


def test_range_query_of_a_rate_with_a_reset_is_a_matrix(client, counter):
    body = client.post("/api/v1/query_range", {"query": f"sum by (instance) (rate({counter}[1m]))",
                                               "start": T0 + 60, "end": T0 + 600, "step": "1m"}).json
    assert body["status"] == "success" and body["data"]["resultType"] == "matrix"
    result = {item["metric"]["instance"]: item["values"] for item in body["data"]["result"]}
    assert set(result) == {"a", "b"}
    assert [t for t, _ in result["b"]] == list(range(T0 + 60, T0 + 601, 60))
    assert {v for _, v in result["b"]} == {"0.5"}  # 7.5 per 15 s, exactly, at every step
    assert all(0 < float(v) <= 2.0 for _, v in result["a"])  # the drop from 600 to 3 counts as a reset


def test_nan_and_infinities_are_strings(client, counter):
    body = client.get("/api/v1/query", {"query": f'{counter}{{instance="b"}} / 0', "time": T0 + 600}).json
    assert body["data"]["result"][0]["value"][1] == "+Inf"
    body = client.get("/api/v1/query", {"query": "0 / 0", "time": T0}).json
    assert body["data"]["result"] == [T0, "NaN"]


def test_series_labels_and_label_values(client, counter):
    body = client.get("/api/v1/series", {"match[]": f'{counter}{{instance=~"a|b"}}'}).json
    assert sorted(body["data"], key=lambda labels: labels["instance"]) == [
        {"__name__": counter, "instance": "a", "job": "api"}, {"__name__": counter, "instance": "b", "job": "api"}]
    assert client.get("/api/v1/labels", {"match[]": counter}).json["data"] == ["__name__", "instance", "job"]
    assert client.get("/api/v1/label/instance/values", {"match[]": counter}).json["data"] == ["a", "b"]
    assert counter in client.get("/api/v1/label/__name__/values").json["data"]


def test_metadata_and_buildinfo(client, counter):
    assert client.get("/api/v1/metadata", {"metric": counter}).json == {
        "status": "success", "data": {counter: [{"type": "gauge", "help": "", "unit": ""}]}}
    assert client.get("/api/v1/status/buildinfo").json["data"]["version"] == "2.42.0"


def test_unsupported_function_is_a_422_naming_it(client):
    body = client.get("/api/v1/query", {"query": "histogram_count(x)"}, status=422).json
    assert body == {"status": "error", "errorType": "execution",
                    "error": "function histogram_count() is not supported"}


@pytest.mark.parametrize(("params", "message"), [
    ({"query": "sum(", "time": T0}, "parse error"),
    ({"query": "1", "time": "yesterday"}, 'invalid parameter "time"'),
    ({"query": "1", "time": "inf"}, 'invalid parameter "time"'),
    ({"query": "1", "time": "NaN"}, 'invalid parameter "time"'),
    ({"query": "1", "time": "1e400"}, 'invalid parameter "time"'),
    ({"query": "1", "time": "-1e15"}, 'invalid parameter "time"'),
    ({"query": "x offset 10000000y", "time": T0}, "out of range"),
    ({"query": "rate(x[20000y])", "time": T0}, "out of range"),
    ({"query": "max_over_time(x[1h:10000000y])", "time": T0}, "out of range"),
    ({"query": "x @ -100", "time": T0}, "@ modifier"),
])
def test_bad_input_is_a_400_bad_data(client, params, message):
    body = client.get("/api/v1/query", params, status=400).json
    assert body["status"] == "error" and body["errorType"] == "bad_data" and message in body["error"]


def test_range_query_parameters_are_checked(client):
    body = client.get("/api/v1/query_range", {"query": "1", "start": T0, "end": T0 + 60, "step": "soon"},
                      status=400).json
    assert 'invalid parameter "step"' in body["error"]
    body = client.get("/api/v1/query_range", {"query": "1", "start": T0, "end": T0 + 86400 * 7, "step": 1},
                      status=400).json
    assert "11,000 points" in body["error"]
    assert client.get("/api/v1/series", status=400).json["error"] == "no match[] parameter provided"
    for step in ("1e308", "inf", "nan", "-5", "0"):
        body = client.get("/api/v1/query_range", {"query": "1", "start": T0, "end": T0 + 60, "step": step},
                          status=400).json
        assert 'invalid parameter "step"' in body["error"], step
    body = client.get("/api/v1/query_range", {"query": "1", "start": "1e400", "end": T0, "step": 60}, status=400).json
    assert 'invalid parameter "start"' in body["error"]


def test_a_far_offset_answers_nothing_rather_than_failing(client, counter):
    for query in (f"{counter} offset 5000y", f"{counter} offset -5000y", f"rate({counter}[1000y])"):
        body = client.get("/api/v1/query", {"query": query, "time": T0 + 600}).json
        assert body["status"] == "success", query


def test_an_answer_larger_than_the_limits_is_a_422_naming_the_limit(config, db, counter):
    import webtest

    from metrics_server.app import create_app
    strict = webtest.TestApp(create_app({**config, "max_query_series": 1, "max_query_cells": 30}, db=db))
    strict.authorization = ("Bearer", config["admin_token"])
    body = strict.get("/api/v1/query", {"query": counter, "time": T0 + 600}, status=422).json
    assert body["errorType"] == "execution" and "max_query_series" in body["error"]
    body = strict.get("/api/v1/query_range", {"query": f"sum({counter})", "start": T0, "end": T0 + 600, "step": 15},
                      status=422).json
    assert "max_query_cells" in body["error"]
    assert strict.get("/api/v1/query_range", {"query": f"sum({counter})", "start": T0, "end": T0 + 600,
                                              "step": 60}).json["status"] == "success"


def test_hour_aligned_range_queries_read_rollups_and_answer_as_raw_points_do(app, client, name, drain):
    from metrics_server import promql
    from metrics_server.query.gateway import Gateway
    from metrics_server.query.promsource import StoreSource

    day0 = 1_700_006_400  # an hour boundary
    times = list(range(day0, day0 + 2 * 86400, 60)) + [day0 + 2 * 86400]  # one point exactly on the last hour
    client.post_json("/api/write", [{"name": name, "labels": {"host": "h"}, "timestamps": times,
                                     "values": [float(i % 97) for i in range(len(times))]}], status=201)
    stores = app.extensions
    drain()
    with_rollups = StoreSource(Gateway(stores["registry"], stores["points"], stores["rollups"]))
    raw_only = StoreSource(Gateway(stores["registry"], stores["points"]))
    assert with_rollups.hourly(promql.parse(name).matchers, day0 * 1000, (day0 + 86400) * 1000, "avg")
    for expr in (name, f"avg_over_time({name}[1h])", f"max_over_time({name}[3h])", f"count_over_time({name}[1h])",
                 f"sum_over_time({name}[2h])", f"last_over_time({name}[1h])"):
        args = (expr, day0 * 1000, (day0 + 2 * 86400) * 1000, 3_600_000)
        [(_, t1, v1)] = promql.evaluate_range(*args, with_rollups)
        [(_, t2, v2)] = promql.evaluate_range(*args, raw_only)
        assert t1.tolist() == t2.tolist() and len(t1) == 49, expr
        assert v1 == pytest.approx(v2, rel=1e-12), expr
    # a late point marks its partition: until the worker has been there, the answer comes from raw points
    client.post_json("/api/write", [{"name": name, "labels": {"host": "h"}, "value": 1000.0,
                                     "timestamp": (day0 + 3600) * 1000}], status=201)
    assert with_rollups.hourly(promql.parse(name).matchers, day0 * 1000, (day0 + 86400) * 1000, "avg") is None
    body = client.get("/api/v1/query_range", {"query": f"max_over_time({name}[1h])", "start": day0 + 7200,
                                              "end": day0 + 7200, "step": 3600}).json
    assert body["data"]["result"][0]["values"] == [[day0 + 7200, "1000"]]


def test_a_query_over_the_read_budget_is_refused_naming_the_limit(config, db, counter):
    import webtest

    from metrics_server.app import create_app
    strict = webtest.TestApp(create_app({**config, "max_query_reads": 1}, db=db))
    strict.authorization = ("Bearer", config["admin_token"])
    body = strict.get("/api/v1/query_range", {"query": f"rate({counter}[1m])", "start": T0, "end": T0 + 600,
                                              "step": 60}, status=422).json
    assert body["errorType"] == "execution" and "max_query_reads" in body["error"]


def test_a_definition_cached_a_while_ago_is_read_beside_the_points_and_a_changed_one_is_followed(
        client, config, db, app, name):
    """Another instance deletes the metric and makes it again with hour partitions: a query on this instance,
    whose definition (day partitions) is older than the registry's CACHE_SECONDS, reads the new points."""
    other = webtest.TestApp(create_app(config, db=db))
    other.authorization = ("Bearer", ADMIN_TOKEN)
    registry = app.extensions["registry"]

    def values() -> list:
        result = client.get("/api/v1/query_range", {"query": f'{name}{{host="a"}}', "start": T0, "end": T0 + 120,
                                                    "step": 60}).json["data"]["result"]
        return [value for _, value in result[0]["values"]] if result else []

    def define_and_write(value: float, partition_hours: int) -> None:
        other.post_json("/api/metrics", {"name": name, "label_keys": ["host"], "partition_hours": partition_hours},
                        status=201)
        other.post_json("/api/write", [{"name": name, "labels": {"host": "a"}, "value": value,
                                        "timestamp": (T0 + 60 * i) * 1000} for i in range(3)], status=201)

    try:
        define_and_write(1.0, 24)
        assert values() == ["1", "1", "1"]
        registry.clock = lambda: time.monotonic() + CACHE_SECONDS + 1  # the definition is due to be read again
        assert values() == ["1", "1", "1"]  # read beside the points, unchanged
        other.delete(f"/api/metrics/{name}", status=200)
        define_and_write(2.0, 1)
        registry.clock = lambda: time.monotonic() + 2 * CACHE_SECONDS + 2
        assert values() == ["2", "2", "2"]
        assert registry.get(name).partition_hours == 1
    finally:
        client.delete(f"/api/metrics/{name}", status="*")


def test_a_selection_cached_a_while_ago_is_read_beside_the_points_and_a_new_series_is_in_the_answer(
        client, config, db, app, name):
    """Another instance adds a series: a query on this instance, whose selection is older than the selection
    cache's seconds, answers it (and one whose selection is unchanged answers as before)."""
    other = webtest.TestApp(create_app(config, db=db))
    other.authorization = ("Bearer", ADMIN_TOKEN)
    registry = app.extensions["registry"]

    def hosts() -> list:
        return [item["metric"]["host"] for item in client.get("/api/v1/query_range", {
            "query": name, "start": T0, "end": T0 + 120, "step": 60}).json["data"]["result"]]

    def write(host: str) -> None:
        other.post_json("/api/write", [{"name": name, "labels": {"host": host}, "value": 1.0,
                                        "timestamp": T0 * 1000}], status=201)

    def later(seconds: float) -> None:
        registry.clock = registry.selections.clock = lambda: time.monotonic() + seconds

    try:
        other.post_json("/api/metrics", {"name": name, "label_keys": ["host"]}, status=201)
        write("a")
        assert hosts() == ["a"]
        later(CACHE_SECONDS + 11)
        assert hosts() == ["a"]
        write("b")
        later(2 * CACHE_SECONDS + 22)
        assert hosts() == ["a", "b"]
    finally:
        client.delete(f"/api/metrics/{name}", status="*")
