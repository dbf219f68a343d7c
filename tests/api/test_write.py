"""Ingest: batches across metrics are validated whole, stored idempotently, and bad input is a clear 4xx."""
import pytest
import webtest

from metrics_server.app import create_app


def test_batch_across_metrics_is_stored_and_auto_creates_gauges(client, name):
    items = [{"name": f"{name}_{i % 3}", "labels": {"host": f"h{i % 2}"}, "value": float(i),
              "timestamp": 1_700_000_000_000 + i * 1000} for i in range(12_000)]
    assert client.post_json("/api/write", items, status=201).json == {"message": "Success", "id": 12_000}
    for suffix in range(3):
        metric = client.get(f"/api/metrics/{name}_{suffix}").json
        assert metric["type"] == "gauge" and metric["label_keys"] == ["host"]
        stored = client.get(f"/api/metrics/{name}_{suffix}/data", {"limit": 100_000}).json
        assert len(stored) == 4000
        assert sorted(point["value"] for point in stored) == [float(i) for i in range(suffix, 12_000, 3)]


def test_rewriting_the_same_points_keeps_one_copy(client, name):
    items = [{"name": name, "value": 1.5, "timestamp": 1_700_000_000 + i} for i in range(50)]
    client.post_json("/api/write", items, status=201)
    client.post_json("/api/write", items, status=201)
    assert len(client.get(f"/api/metrics/{name}/data").json) == 50


@pytest.mark.parametrize("bad_item, field, reason", [
    ({"value": "abc"}, "value", "finite number"),
    ({"value": 1, "timestamp": "yesterday"}, "timestamp", "ISO 8601"),
    ({"value": 1, "timestamp": "2024-01-01T00:00:00"}, "timestamp", "offset"),
    ({"value": 1, "labels": {"host": 5}}, "labels", "string"),
    ({"value": 1, "extra": True}, "extra", "Unknown field"),
    ({"value": True}, "value", "finite number"),
    ({"name": "9bad name", "value": 1}, "name", "letters"),
    ({"labels": {"host": "a"}}, "value", "required"),
    ({"value": 1, "labels": {"other": "a"}}, "labels", "exactly these keys"),
])
def test_a_bad_item_rejects_the_whole_batch(client, name, bad_item, field, reason):
    good = [{"name": name, "labels": {"host": "a"}, "value": 1.0, "timestamp": 1_700_000_000 + i} for i in range(5)]
    batch = good + [{"name": name, "labels": {"host": "a"}, **bad_item}] + good
    response = client.post_json("/api/write", batch, status=400)
    assert response.json["error"].startswith(f"5.{field}"), response.json
    assert reason in response.json["error"]
    client.get(f"/api/metrics/{name}", status=404)


def test_non_finite_values_are_rejected(client, name):
    response = client.post("/api/write", f'[{{"name": "{name}", "value": NaN}}]',
                           content_type="application/json", status=400)
    assert "not valid JSON" in response.json["error"]
    response = client.post_json("/api/write", [{"name": name, "value": "Infinity"}], status=400)
    assert response.json["error"].startswith("0.value")


def test_errors_are_json_with_the_right_status(client, app):
    assert client.get("/api/nothing-here", status=404).json["error"]
    assert client.put("/api/write", status=405).json["error"]
    assert client.post("/api/write", "name=x", content_type="text/plain", status=415).json["error"] == \
        "expected Content-Type: application/json"
    limit = app.config["MAX_CONTENT_LENGTH"]
    too_big = client.post("/api/write", "[" + " " * limit + "]", content_type="application/json", status=413)
    assert too_big.json["error"]
    assert client.get("/api/metrics/does_not_exist/data", status=404).json == {
        "error": "metric 'does_not_exist' not found"}


def test_metric_definition_round_trip_and_delete(client, name):
    client.post_json("/api/metrics", {"name": name, "type": "counter", "label_keys": ["host"], "unit": "bytes",
                                      "description": "bytes sent", "retention_days": 30}, status=201)
    metric = client.get(f"/api/metrics/{name}").json
    assert (metric["type"], metric["unit"], metric["retention_days"]) == ("counter", "bytes", 30)
    assert [m["name"] for m in client.get("/api/metrics", {"search": name[2:]}).json] == [name]
    client.post_json(f"/api/metrics/{name}/data", [{"labels": {"host": "a"}, "value": v} for v in (1, 2)], status=201)
    client.delete(f"/api/metrics/{name}", status=200)
    client.get(f"/api/metrics/{name}", status=404)


@pytest.mark.parametrize("body, field", [
    ({"name": "x y"}, "name"), ({"name": "ok", "type": "pie"}, "type"),
    ({"name": "ok", "label_keys": ["a", "a"]}, "label_keys"), ({"name": "ok", "label_keys": ["bad key"]}, "label_keys"),
])
def test_bad_metric_definitions(client, body, field):
    assert client.post_json("/api/metrics", body, status=400).json["error"].startswith(field)


def test_points_are_stored_across_partitions_and_batches_and_a_repeated_time_keeps_its_last(client, name):
    day = 86_400_000
    start = 1_700_006_400_000  # a partition (day) boundary
    items = [{"name": name, "labels": {"host": "a"}, "value": float(i), "timestamp": start - 100 + i * 1000}
             for i in range(250)]  # 250 points: across two partitions, more than one 100-row batch each
    items += [{"name": name, "labels": {"host": "b"}, "value": -1.0, "timestamp": start + day},
              {"name": name, "labels": {"host": "a"}, "value": 99.0, "timestamp": start - 100 + 5000},
              {"name": name, "labels": {"host": "b"}, "value": -2.0, "timestamp": start + day}]
    assert client.post_json("/api/write", items, status=201).json["id"] == 253
    stored = client.get(f"/api/metrics/{name}/data", {"limit": 1000}).json
    by_host = {host: [(p["timestamp"], p["value"]) for p in stored if p["labels"]["host"] == host] for host in "ab"}
    assert [value for _, value in by_host["a"]] == [float(i) if i != 5 else 99.0 for i in range(250)]
    assert by_host["b"] == [("2023-11-16T00:00:00Z", -2.0)]


def test_iso_and_numeric_times_of_one_batch_agree(client, name):
    items = [{"name": name, "value": 1, "timestamp": "2024-02-02T11:43:02.099Z"},
             {"name": name, "value": 2, "timestamp": 1_706_874_183},
             {"name": name, "value": 3, "timestamp": 1_706_874_184.5},
             {"name": name, "value": 4, "timestamp": "2024-02-02T12:43:05+01:00"}]
    client.post_json("/api/write", items, status=201)
    assert [(p["timestamp"], p["value"]) for p in client.get(f"/api/metrics/{name}/data").json] == [
        ("2024-02-02T11:43:02.099Z", 1.0), ("2024-02-02T11:43:03Z", 2.0), ("2024-02-02T11:43:04.500Z", 3.0),
        ("2024-02-02T11:43:05Z", 4.0)]


def test_an_unknown_metric_is_refused_at_its_first_item_when_auto_create_is_off(app, client, name):
    app.config["METRICS_SERVER"] = {**app.config["METRICS_SERVER"], "auto_create_metrics": False}
    client.post_json("/api/metrics", {"name": name}, status=201)
    items = [{"name": name, "value": 1}, {"name": f"{name}_new", "value": 2}, {"name": f"{name}_new", "value": 3}]
    assert client.post_json("/api/write", items, status=400).json == {
        "error": f"1.name: unknown metric '{name}_new' (auto_create_metrics is off)", "index": 1, "field": "name"}


def test_series_items_store_the_same_points_as_point_items(client, name):
    start = 1_700_006_400_000 - 30_000  # across a partition (day) boundary
    series = [{"name": f"{name}_{m}", "labels": {"host": host}, "timestamps": [start + i * 10_000 for i in range(9)],
               "values": [float(i * (m + 1)) for i in range(9)]} for m in range(2) for host in "ab"]
    series[0]["timestamps"][8] = "2023-11-15T00:01:10+00:00"  # any time form a point takes
    assert client.post_json("/api/write", series, status=201).json == {"message": "Success", "id": 36}
    points = [{"name": item["name"], "labels": item["labels"], "value": value, "timestamp": ts}
              for item in series for ts, value in zip(item["timestamps"], item["values"])]
    client.post_json("/api/write", [{**point, "name": f"{point['name']}_p"} for point in points], status=201)
    for m in range(2):
        as_series = client.get(f"/api/metrics/{name}_{m}/data").json
        assert len(as_series) == 18 and as_series == client.get(f"/api/metrics/{name}_{m}_p/data").json
        assert as_series[0]["value"] == 0.0 and as_series[-1]["value"] == 8.0 * (m + 1)


@pytest.mark.parametrize("bad_item, error", [
    ({"values": [1.0, "x"]}, "1.values.1: expected a finite number"),
    ({"values": [None, 1.0]}, "1.values.0: Field may not be null."),
    ({"values": [1.0]}, "1.values: expected one value per timestamp (2)"),
    ({"timestamps": [], "values": []}, "1.timestamps: Shorter than minimum length 1."),
    ({"timestamps": [1, "soon"]}, "1.timestamps.1:"),
    ({"labels": {"zone": "x"}}, "1.labels: Labels must contain exactly these keys: ['host']"),
    ({"value": 1.0}, "1.value: Unknown field."),
])
def test_a_bad_series_item_rejects_the_whole_batch_naming_the_item(client, name, bad_item, error):
    good = {"name": name, "labels": {"host": "a"}, "timestamps": [1_700_000_000, 1_700_000_001], "values": [1, 2]}
    response = client.post_json("/api/write", [good, {**good, **bad_item}, good], status=400)
    assert response.json["error"].startswith(error), response.json
    client.get(f"/api/metrics/{name}", status=404)


def test_a_point_item_among_series_items_is_refused(client, name):
    items = [{"name": name, "timestamps": [1_700_000_000], "values": [1]}, {"name": name, "value": 1}]
    assert client.post_json("/api/write", items, status=400).json["error"].startswith("1.timestamps: Missing data")


def test_the_batch_limit_counts_the_points_of_series_items(app, client, name):
    limit = app.config["METRICS_SERVER"]["max_batch_points"]
    item = {"name": name, "timestamps": list(range(1_700_000_000, 1_700_000_000 + limit + 1)),
            "values": [1.0] * (limit + 1)}
    assert client.post_json("/api/write", [item], status=400).json["error"] == \
        f"expected 1 to {limit} points in a batch, got {limit + 1}"


def test_a_batch_of_many_tiny_series_with_long_names_fits_cassandras_batch_limit(client, name):
    long_name = (name + "_" + "x" * 200)[:200]
    items = [{"name": long_name, "labels": {"host": f"host-{i:05d}-" + "y" * 400}, "value": i, "timestamp": 1_700_000_000}
             for i in range(3000)]
    assert client.post_json("/api/write", items, status=201).json["id"] == 3000
    assert len(client.get(f"/api/metrics/{long_name}/data", {"limit": 5000}).json) == 3000


def test_a_write_through_a_stale_cache_does_not_bring_a_deleted_metric_back(client, config, db, name):
    """Issue 23: another instance still has the metric cached for 5 s after a DELETE; its write is refused, and
    the metric created again later holds none of those points."""
    other = webtest.TestApp(create_app(config, db=db))  # a second instance on the same Cassandra
    other.authorization = client.authorization
    point = {"name": name, "labels": {"host": "a"}, "value": 1.0, "timestamp": 1_700_000_000_000}
    other.post_json("/api/write", [point], status=201)  # `other` caches the metric
    client.delete(f"/api/metrics/{name}", status=200)
    refused = other.post_json("/api/write", [{**point, "timestamp": 1_700_000_060_000, "value": 2.0}], status=409)
    assert f"metric '{name}' was deleted" in refused.json["error"]
    client.get(f"/api/metrics/{name}", status=404)
    other.post_json("/api/write", [{**point, "timestamp": 1_700_000_120_000, "value": 3.0}], status=201)
    assert [p["value"] for p in other.get(f"/api/metrics/{name}/data",
                                          {"start_time": 1_699_999_000_000, "end_time": 1_700_001_000_000}).json] == [3.0]
