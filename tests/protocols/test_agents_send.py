"""Real clients of the other protocols against our stack through nginx: the influx CLI (Debian's
influxdb-client), collectd's write_graphite (collectd-core) into the Graphite listener, and the OpenTelemetry
SDK's OTLP/HTTP exporter (PyPI)."""
import subprocess
import uuid
from urllib.parse import urlparse

import pytest
import requests
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from tests.protocols.conftest import AUTH, TOKEN, points_of, running, series_of, wait_for

pytestmark = pytest.mark.peers
COLLECTD_CONFIG = """Hostname "{host}"
FQDNLookup false
BaseDir "{folder}"
PIDFile "{folder}/collectd.pid"
Interval 1
LoadPlugin load
LoadPlugin memory
LoadPlugin write_graphite
<Plugin write_graphite>
  <Node "metrics_server">
    Host "127.0.0.1"
    Port "{port}"
    Protocol "tcp"
    Prefix "collectd."
  </Node>
</Plugin>
"""


def influx(stack, *arguments: str) -> subprocess.CompletedProcess:
    port = urlparse(stack.url).port
    # the 1.x CLI's user and password: any user, the token as the password (as basic auth)
    return subprocess.run(["influx", "-host", "127.0.0.1", "-port", str(port), "-database", "telegraf",
                           "-username", "telegraf", "-password", TOKEN, "-precision", "s", *arguments],
                          capture_output=True, text=True, timeout=60)


def test_influx_cli_inserts_and_a_bad_line_is_refused_with_its_reason(live_stack):
    name = f"cpu_{uuid.uuid4().hex[:8]}"
    done = influx(live_stack, "-execute", f"INSERT {name},host=a\\ b usage=1.5,count=4i 1700000000")
    assert done.returncode == 0, done.stdout + done.stderr
    assert [(p["labels"], p["value"]) for p in points_of(live_stack.url, f"{name}_usage")] == [
        ({"db": "telegraf", "host": "a b"}, 1.5)]
    refused = influx(live_stack, "-execute", f'INSERT {name},host=c usage="high" 1700000000')
    assert "line 1: fields.usage: string fields are not stored" in refused.stdout + refused.stderr
    assert len(points_of(live_stack.url, f"{name}_usage")) == 1


def test_influx_cli_imports_a_file_with_blank_lines_and_comments(live_stack, folder):
    name = f"mem_{uuid.uuid4().hex[:8]}"
    dump = folder / "import.txt"
    dump.write_text(f"# DML\n# CONTEXT-DATABASE: telegraf\n\n{name},host=x free=10i 1700000000\n\n"
                    f"# a comment\n{name},host=y free=20i 1700000060\n")
    done = influx(live_stack, "-import", f"-path={dump}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted((p["labels"]["host"], p["value"]) for p in points_of(live_stack.url, f"{name}_free")) == [
        ("x", 10.0), ("y", 20.0)]


def test_collectd_write_graphite_every_second_arrives_through_the_template(live_stack, folder):
    host = f"host-{uuid.uuid4().hex[:8]}"
    config = folder / "collectd.conf"
    config.write_text(COLLECTD_CONFIG.format(host=host, folder=folder, port=live_stack.graphite_port))
    with running(["collectd", "-f", "-B", "-C", str(config)], folder, "collectd"):
        points = wait_for("load.load.shortterm from collectd",
                          lambda: len(found := points_of(live_stack.url, "load.load.shortterm", host=host)) >= 2
                          and found)
    assert all(point["labels"] == {"host": host} for point in points)
    assert {"host": host} in series_of(live_stack.url, "memory.memory-used")


def test_the_opentelemetry_sdk_exports_counters_histograms_and_gauges(live_stack):
    service = f"svc-{uuid.uuid4().hex[:8]}"
    exporter = OTLPMetricExporter(endpoint=f"{live_stack.url}/v1/metrics", compression=Compression.Gzip,
                                  headers=AUTH)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=500)
    provider = MeterProvider(metric_readers=[reader], resource=Resource.create({"service.name": service}))
    meter = provider.get_meter("tests")
    requests_served = meter.create_counter("otel_requests", unit="1", description="requests served")
    latency = meter.create_histogram("otel_latency", unit="ms")
    meter.create_observable_gauge("otel_queue", callbacks=[lambda options: [Observation(3, {"queue": "a"})]])
    try:
        requests_served.add(5, {"route": "/a"})
        latency.record(12.0, {"route": "/a"})
        assert provider.force_flush(30_000)
        counter = wait_for("otel_requests", lambda: points_of(live_stack.url, "otel_requests", service_name=service))
        assert counter[-1]["value"] == 5.0 and counter[-1]["labels"]["route"] == "/a"
        metric = requests.get(f"{live_stack.url}/api/metrics/otel_requests", headers=AUTH, timeout=30).json()
        assert metric["type"] == "counter" and metric["description"] == "requests served"
        buckets = points_of(live_stack.url, "otel_latency_bucket", service_name=service, le="+Inf")
        assert buckets and buckets[-1]["value"] == 1.0
        assert points_of(live_stack.url, "otel_queue", service_name=service)[-1]["value"] == 3.0
    finally:
        provider.shutdown()
