"""Health: 200 with Cassandra reachable, 503 with a JSON reason when it is not (and the app still starts)."""
import os

import webtest

from metrics_server.app import create_app
from metrics_server.config import load_config


def test_health_reports_cassandra(client):
    body = client.get("/api/health").json
    assert body["status"] == "ok" and body["cassandra"]["version"].startswith("5.0")


def test_app_starts_without_cassandra_and_answers_503():
    token = os.environ["METRICS_TEST_ADMIN_TOKEN"]  # the configured admin token needs no Cassandra
    app = create_app(load_config(environ={}, cassandra=["127.0.0.1"], cassandra_port=1, cassandra_timeout=1,
                                 admin_token=token))
    client = webtest.TestApp(app)
    client.authorization = ("Bearer", token)
    body = client.get("/api/health", status=503).json
    assert body["status"] == "unavailable" and "Cassandra is unreachable" in body["error"]
    assert "Cassandra is unreachable" in client.post_json("/api/write", [{"name": "x", "value": 1}], status=503).json[
        "error"]
    assert 'metrics_server_cassandra_errors_total{route="/api/write"} 1.0' in client.get("/metrics").text


def test_self_metrics_count_requests(client):
    client.get("/api/health")
    client.post_json("/api/write", [{"name": "selfmetrics_probe", "value": 1}], status=201)
    text = client.get("/metrics").text
    assert 'metrics_server_http_requests_in_flight{method="GET"} 1.0' in text  # the scrape itself
    assert 'metrics_server_http_requests_in_flight{method="POST"} 0.0' in text
    assert 'metrics_server_http_requests_total{method="GET",route="/api/health",status="200"} 1.0' in text
    assert "metrics_server_http_request_duration_seconds_bucket" in text
