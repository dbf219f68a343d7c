"""Bounded work on the real app and Cassandra (issue 10): every limit answers at once with the status and a
message naming what to change, aggregation across series is the way past the series cap, `limit` on raw reads
stops reading, and work past the deadline stops."""
import os
import time

import numpy as np
import pytest
import webtest

from metrics_server.app import create_app
from metrics_server.config import load_config
from metrics_server.limits import QueryLimits, QueryTimeout
from metrics_server.query.bins import make_bins
from metrics_server.query.engine import plan, run_plans
from metrics_server.query.gateway import Gateway

DAY0 = 1_700_006_400_000  # 2023-11-15T00:00:00Z

pytestmark = pytest.mark.usefixtures("metrics_dropped")
HOUR = 3_600_000
DAY = 24 * HOUR


@pytest.fixture
def small_app(cassandra_node, db):
    """Makes an app (an instance) with small limits, so that each can be reached with a little data."""
    config = load_config(environ={}, cassandra=[cassandra_node.address], cassandra_port=db.config["cassandra_port"],
                         keyspace=db.keyspace, max_query_series=5, max_new_series_per_request=50,
                         max_series_per_metric=80, max_query_reads=20, max_buckets_per_point=8, max_quantiles=3,
                         max_label_names_per_series=4, admin_token=os.environ["METRICS_TEST_ADMIN_TOKEN"])

    def instance():
        client = webtest.TestApp(create_app(config, db=db))
        client.authorization = ("Bearer", os.environ["METRICS_TEST_ADMIN_TOKEN"])
        return client
    return instance


@pytest.fixture
def small(small_app):
    return small_app()


def series_items(name, hosts, start=DAY0, hours=3, step=600_000, value=lambda host, ts: 1.0):
    times = list(range(start, start + hours * HOUR, step))
    return [{"name": name, "labels": {"host": host}, "timestamps": times,
             "values": [value(host, ts) for ts in times]} for host in hosts]


def timed(call):
    started = time.perf_counter()
    response = call()
    return response, time.perf_counter() - started


def test_a_query_over_more_series_than_the_cap_says_to_aggregate_across_them(small, name):
    hosts = [f"h{i}" for i in range(8)]
    small.post_json("/api/write", series_items(name, hosts, value=lambda host, ts: int(host[1:])), status=201)
    refused = small.get("/api/query", {"metric": name, "start": DAY0, "end": DAY0 + 3 * HOUR}, status=422).json
    assert "8 series would be returned (at most 5, max_query_series)" in refused["error"]
    assert "across=sum" in refused["error"]
    body = small.get("/api/query", {"metric": name, "start": DAY0, "end": DAY0 + 4 * HOUR, "granularity": "hour",
                                    "across": "sum"}).json
    (line,) = body["series"]
    assert line["across"] == "sum" and line["series_count"] == 8 and line["labels"] == {}
    assert [value for _, value in line["points"]] == [28.0, 28.0, 28.0, None]  # 0+1+...+7 per hour; a gap stays


@pytest.mark.parametrize("across, want", [("avg", 3.5), ("min", 0.0), ("max", 7.0), ("count", 8.0)])
def test_every_fold_across_series_per_bin(small, name, across, want):
    hosts = [f"h{i}" for i in range(8)]
    small.post_json("/api/write", series_items(name, hosts, value=lambda host, ts: int(host[1:])), status=201)
    body = small.get("/api/query", {"metric": name, "start": DAY0, "end": DAY0 + 3 * HOUR, "granularity": "hour",
                                    "across": across}).json
    assert [value for _, value in body["series"][0]["points"]] == [want] * 3


def test_across_with_group_by_gives_one_line_per_label_value_in_raw_and_chart_mode(client, name):
    items = [{"name": name, "labels": {"dc": dc, "host": f"{dc}{i}"}, "timestamps": [DAY0 + 60_000, DAY0 + 120_000],
              "values": [float(i), float(i) + 10]} for dc in ("a", "b") for i in range(3)]
    client.post_json("/api/write", items, status=201)
    body = client.get("/api/query", {"metric": name, "start": DAY0, "end": DAY0 + 180_000, "granularity": "minute",
                                     "agg": "max", "across": "sum", "group_by": "dc"}).json
    assert [(line["labels"], line["series_count"]) for line in body["series"]] == [({"dc": "a"}, 3), ({"dc": "b"}, 3)]
    assert [value for _, value in body["series"][0]["points"]] == [None, 3.0, 33.0]
    chart = client.get("/api/query", {"metric": name, "start": DAY0, "end": DAY0 + 180_000, "width": 100,
                                      "across": "avg"}).json
    (line,) = chart["series"]
    assert line["min"] == line["max"] == [value for _, value in line["points"]]


def test_an_8000_year_range_reads_only_where_data_is(small, name):
    small.post_json("/api/write", series_items(name, ["a"]), status=201)
    response, seconds = timed(lambda: small.get("/api/query", {
        "metric": name, "start": "0001-01-01T00:00:00Z", "end": "9999-12-31T00:00:00Z", "width": 10}))
    values = [value for _, value in response.json["series"][0]["points"] if value is not None]
    assert values == [1.0] and seconds < 5, seconds


def test_huge_numbers_are_refused_at_once(client, name):
    for start in ("1e400000", "1e999999999", "-1e400000"):
        response, seconds = timed(lambda start=start: client.get("/api/query", {"metric": "cpu", "start": start},
                                                                 status=400))
        assert response.json["error"].startswith("start: time out of range") and seconds < 0.5, (start, seconds)
    response, seconds = timed(lambda: client.post_json(
        "/api/write", [{"name": name, "value": 1, "timestamp": "-1e400000"}], status=400))
    assert response.json["error"].startswith("0.timestamp: time out of range") and seconds < 0.5


def test_raw_limit_stops_reading_once_the_page_is_full(small, app, name):
    items = series_items(name, ["a", "b"], start=DAY0, hours=40 * 24, step=HOUR)
    small.post_json("/api/write", items, status=201)
    db = app.extensions["db"]
    counted = []
    execute_all = db.execute_all

    def counting(statements, *args, **kwargs):
        counted.append(sum(".sharded_chunks" in getattr(statement, "query_string", "") for statement, _ in statements))
        return execute_all(statements, *args, **kwargs)

    db.execute_all = counting
    try:
        page = small.get(f"/api/metrics/{name}/data", {"limit": 10})
    finally:
        del db.execute_all
    assert [point["timestamp"] for point in page.json][:2] == ["2023-11-15T00:00:00Z"] * 2 and len(page.json) == 10
    assert sum(counted) == 2, counted  # the first bucket of each series: not 80 partitions
    following = small.get(page.headers["Link"].split(";")[0].strip("<>")).json
    assert following[0]["timestamp"] == "2023-11-15T05:00:00Z"
    refused = small.get(f"/api/metrics/{name}/data", {"format": "csv"}, status=422).json
    # 80 partitions of chunks and the intake rows of each of the 40 buckets
    assert "read 120 Cassandra partitions (at most 20, max_query_reads)" in refused["error"]


def test_near_the_series_limit_an_instance_counts_the_series_other_instances_added(small_app, name):
    first, second = small_app(), small_app()
    first.post_json("/api/write", series_items(name, [f"a{i}" for i in range(35)]), status=201)  # counted: 35
    second.post_json("/api/write", series_items(name, [f"b{i}" for i in range(40)]), status=201)  # 75 in all
    # 35 + 10 would pass; within one request's worth (50) of the limit (80) the first counts again: 75 + 10
    full = first.post_json("/api/write", series_items(name, [f"c{i}" for i in range(10)]), status=400).json
    assert "has 75 series and the request adds 10 (at most 80, max_series_per_metric)" in full["error"]
    first.post_json("/api/write", series_items(name, [f"c{i}" for i in range(5)]), status=201)
    assert len(first.get(f"/api/metrics/{name}/series").json) == 80


def test_write_limits_answer_400_naming_the_limit_and_store_nothing(small, name):
    hosts = [f"h{i}" for i in range(60)]
    refused = small.post_json("/api/write", series_items(name, hosts), status=400).json
    assert "60 new series (at most 50, max_new_series_per_request)" in refused["error"]
    assert small.get(f"/api/metrics/{name}/series", status=404)
    small.post_json("/api/write", series_items(name, hosts[:45]), status=201)
    small.post_json("/api/write", series_items(name, hosts[:45]), status=201)  # known series: no limit
    full = small.post_json("/api/write", series_items(name, [f"x{i}" for i in range(40)]), status=400).json
    assert "has 45 series and the request adds 40 (at most 80, max_series_per_metric)" in full["error"]
    assert len(small.get(f"/api/metrics/{name}/series").json) == 45
    wide = small.post_json("/api/write", [{"name": f"{name}_w", "labels": {f"k{i}": "v" for i in range(5)},
                                           "value": 1}], status=400).json
    assert wide["error"] == "0.labels: 5 label names (at most 4, max_label_names_per_series)"
    created = small.post_json("/api/metrics", {"name": f"{name}_m", "label_keys": ["a", "b", "c", "d", "e"]},
                              status=400).json
    assert created["error"] == "label_keys: 5 label names (at most 4, max_label_names_per_series)"


def test_histogram_limits_buckets_per_point_and_quantiles(small, name):
    small.post_json("/api/metrics", {"name": name, "type": "histogram"}, status=201)
    buckets = {str(bound): 1 for bound in range(9)}
    refused = small.post_json(f"/api/metrics/{name}/data", {"buckets": buckets}, status=400).json
    assert refused["error"] == "buckets: 9 buckets (at most 8, max_buckets_per_point)"
    small.post_json(f"/api/metrics/{name}/data", [{"buckets": {"1": 1, "+Inf": 2}, "timestamp": DAY0}], status=201)
    response, seconds = timed(lambda: small.get(f"/api/metrics/{name}/heatmap?" + "&".join(["q=0.5"] * 1000),
                                                status=422))
    assert "1000 quantiles asked (at most 3, max_quantiles)" in response.json["error"] and seconds < 1


def test_work_past_the_deadline_stops(app, client, name):
    client.post_json("/api/write", series_items(name, ["a", "b"]), status=201)
    points, rollups = app.extensions["points"], app.extensions["rollups"]
    metric = app.extensions["registry"].get(name)
    series = app.extensions["registry"].series(metric)
    bins = make_bins(DAY0, DAY0 + 3 * HOUR, granularity="minute")
    gateway = Gateway(app.extensions["registry"], points, rollups)
    work = [plan(gateway, metric, series, bins, "avg", [], False)]
    assert len(run_plans(gateway, work)) == 2
    with pytest.raises(QueryTimeout, match="deadline"):
        run_plans(Gateway(app.extensions["registry"], points, rollups, QueryLimits(timeout=1e-9)), work)


def test_the_series_cap_counts_lines_not_series_read(client, name):
    hosts = [f"h{i}" for i in range(1500)]
    client.post_json("/api/write", series_items(name, hosts, hours=1), status=201)
    body = client.get("/api/query", {"metric": name, "start": DAY0, "end": DAY0 + HOUR, "across": "max"}).json
    assert body["series"][0]["series_count"] == 1500
    assert np.isclose(body["series"][0]["points"][0][1], 1.0)


def test_writes_over_the_token_budget_or_after_a_long_queue_answer_503_never_429(config, db):
    """Issue 23: every sender retries a 503 (Prometheus drops a batch answered 429), so write limits answer so,
    naming the setting; the request that went over was stored whole."""
    app = webtest.TestApp(create_app({**config, "token_write_rate_limit": 10, "max_write_wait": 2}, db=db))
    app.authorization = ("Bearer", config["admin_token"])
    name = f"budget_{os.urandom(4).hex()}"
    items = [{"name": name, "labels": {"host": "a"}, "timestamp": DAY0 + i * 1000, "value": float(i)}
             for i in range(100)]
    app.post_json("/api/write", items, status=201)
    refused = app.post_json("/api/write", items[:1], status=503)
    assert "token_write_rate_limit" in refused.json["error"] and int(refused.headers["Retry-After"]) >= 1
    assert len(app.get(f"/api/metrics/{name}/data", {"start_time": DAY0, "end_time": DAY0 + 100_000}).json) == 100
    queued = app.post("/api/v1/write", b"", headers={"X-Request-Start": f"t={time.time() - 5:.3f}"}, status=503)
    assert "max_write_wait" in queued.json["error"] and queued.headers["Retry-After"] == "1"
