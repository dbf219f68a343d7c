"""POST /v1/metrics (OTLP/HTTP) against the real app and Cassandra: JSON, protobuf, gzip, partial success."""
import gzip
import json

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse

from metrics_server.protocols import otlp

T = "1700000000000000000"


def request(*metrics) -> dict:
    return {"resourceMetrics": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "s"}}]},
                                 "scopeMetrics": [{"metrics": list(metrics)}]}]}


def test_json_is_stored_and_answered_in_json(client, name):
    body = request({"name": name, "unit": "By", "gauge": {"dataPoints": [{"timeUnixNano": T, "asDouble": 2.5}]}})
    response = client.post("/v1/metrics", json.dumps(body), content_type="application/json", status=200)
    assert response.content_type == "application/json" and response.json == {}
    metric = client.get(f"/api/metrics/{name}").json
    assert metric["unit"] == "By" and metric["open_labels"]
    assert client.get(f"/api/metrics/{name}/data").json[0]["labels"] == {"service_name": "s"}


def test_gzipped_protobuf_with_a_rejected_point_answers_partial_success(client, name):
    message = otlp.decode(json.dumps(request(
        {"name": name, "sum": {"isMonotonic": True, "aggregationTemporality": 2,
                               "dataPoints": [{"timeUnixNano": T, "asInt": "3"}]}},
        {"name": f"{name}_exp", "exponentialHistogram": {"dataPoints": [{"timeUnixNano": T}]}})).encode(), True)
    response = client.post("/v1/metrics", gzip.compress(message.SerializeToString()),
                           headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}, status=200)
    answer = ExportMetricsServiceResponse.FromString(response.body)
    assert answer.partial_success.rejected_data_points == 1
    assert "exponential histograms" in answer.partial_success.error_message
    assert client.get(f"/api/metrics/{name}").json["type"] == "counter"


def test_a_bad_metric_name_is_a_400_naming_the_point(client, name):
    body = request({"name": f"{name}/bad", "gauge": {"dataPoints": [{"timeUnixNano": T, "asDouble": 1}]}})
    response = client.post("/v1/metrics", json.dumps(body), content_type="application/json", status=400)
    assert response.json["error"].startswith("resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[0]: name")


def test_other_content_types_are_a_415(client):
    client.post("/v1/metrics", "x", content_type="text/plain", status=415)
