"""The operations dashboard seed's documented requests and responses, under /api (contract tests)."""
import uuid


def test_seed_flow(client, name):
    created = client.post_json("/api/metrics", {"name": name, "type": "histogram", "label_keys": ["key1", "key2"]},
                               status=201)
    assert created.json["message"] == "Success"
    assert str(uuid.UUID(created.json["id"])) == created.json["id"]
    assert set(created.json) == {"message", "id"}

    again = client.post_json("/api/metrics", {"name": name, "type": "gauge", "label_keys": []}, status=409)
    assert again.json == {"error": "Metric with the same name already exists"}

    listed = [metric for metric in client.get("/api/metrics").json if metric["name"] == name]
    assert len(listed) == 1
    assert listed[0]["type"] == "histogram" and listed[0]["label_keys"] == ["key1", "key2"]
    assert listed[0]["created_at"].endswith("Z")

    point = {"labels": {"key1": "value1", "key2": "value2"}, "value": 123.45,
             "buckets": {"10": 10, "20": 20, "+inf": 0}, "timestamp": "2023-11-25T12:34:56Z"}
    inserted = client.post_json(f"/api/metrics/{name}/data", point, status=201)
    assert inserted.json["message"] == "Success" and inserted.json["id"]

    wrong = client.post_json(f"/api/metrics/{name}/data", {**point, "labels": {"key1": "value1"}}, status=400)
    assert wrong.json["error"].startswith("Labels must contain exactly these keys: ['key1', 'key2']")

    history = client.get(f"/api/metrics/{name}/data", {
        "start_time": "2023-11-25T00:00:00Z", "end_time": "2023-11-26T00:00:00Z", "key1": "value1"}).json
    assert history == [{"labels": {"key1": "value1", "key2": "value2"}, "value": 123.45,
                        "buckets": {"10": 10, "20": 20, "+inf": 0}, "timestamp": "2023-11-25T12:34:56Z"}]
    assert client.get(f"/api/metrics/{name}/data", {"key1": "other"}).json == []


def test_metrics_server_seed_curl_example(client):
    """The Go metrics server's POST {timestamp, name, value} is a valid /api/write item."""
    name = f"temperature_{uuid.uuid4().hex[:8]}"
    client.post_json("/api/write", {"timestamp": "2024-02-02T11:43:02.099Z", "name": name, "value": 30}, status=201)
    stored = client.get(f"/api/metrics/{name}/data").json
    assert stored == [{"labels": {}, "value": 30.0, "timestamp": "2024-02-02T11:43:02.099Z"}]
    assert client.get(f"/api/metrics/{name}").json["type"] == "gauge"
