"""Real Prometheus 2.42 (Debian) scraping itself and node-exporter every second, remote-writing to us through
nginx; vmagent (Debian's victoria-metrics) as a second sender."""
import time
from datetime import datetime

import pytest
import requests

from tests.protocols.conftest import (
    ARRIVAL_TIMEOUT,
    AUTH,
    NODE_EXPORTER_PORT,
    PROMETHEUS_PORT,
    TOKEN,
    VMAGENT_PORT,
    points_of,
    running,
    series_of,
    wait_for,
)

pytestmark = pytest.mark.peers

PROMETHEUS_CONFIG = """global: {{scrape_interval: 1s, scrape_timeout: 1s}}
scrape_configs:
  - {{job_name: prom, static_configs: [{{targets: ['127.0.0.1:{prometheus}']}}]}}
  - {{job_name: node, static_configs: [{{targets: ['127.0.0.1:{node}']}}]}}
remote_write:
  - url: {url}/api/v1/write
    authorization: {{credentials: {token}}}
    queue_config: {{batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s}}
    metadata_config: {{send_interval: 5s}}
"""


def prometheus_value(query: str) -> float | None:
    """A scalar from the sender's own query API (its remote-write counters), None when it has no answer."""
    result = requests.get(f"http://127.0.0.1:{PROMETHEUS_PORT}/api/v1/query", params={"query": query},
                          timeout=10).json()["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def test_prometheus_scraping_itself_and_node_exporter_remote_writes_to_us(live_stack, folder):
    config = folder / "prometheus.yml"
    config.write_text(PROMETHEUS_CONFIG.format(prometheus=PROMETHEUS_PORT, node=NODE_EXPORTER_PORT, url=live_stack.url,
                                               token=TOKEN))
    node = ["prometheus-node-exporter", f"--web.listen-address=127.0.0.1:{NODE_EXPORTER_PORT}",
            "--collector.disable-defaults", "--collector.loadavg", "--collector.meminfo", "--collector.cpu"]
    prometheus = ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={folder / 'data'}",
                  f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}"]
    with running(node, folder, "node-exporter"), running(prometheus, folder, "prometheus"):
        started = time.monotonic()
        wait_for("up{job=prom} and up{job=node} stored",
                 lambda: {labels.get("job") for labels in series_of(live_stack.url, "up")} >= {"prom", "node"})
        print(f"first samples stored {time.monotonic() - started:.1f} s after Prometheus started")
        load = wait_for("node_load1 points", lambda: points_of(live_stack.url, "node_load1", job="node"))
        assert time.time() - datetime.fromisoformat(load[-1]["timestamp"]).timestamp() < ARRIVAL_TIMEOUT
        for name in ("node_cpu_seconds_total", "prometheus_tsdb_head_samples_appended_total"):
            metric = wait_for(f"{name} created", lambda name=name: requests.get(
                f"{live_stack.url}/api/metrics/{name}", headers=AUTH, timeout=30).json().get("type"))
            assert metric == "counter", name
        wait_for("node_cpu_seconds_total's modes", lambda: {
            labels.get("mode") for labels in series_of(live_stack.url, "node_cpu_seconds_total")} >= {"idle", "user"})
        wait_for("Prometheus counting samples sent", lambda: prometheus_value(
            "sum(prometheus_remote_storage_samples_total)"), timeout=60)
        assert not prometheus_value("sum(prometheus_remote_storage_samples_failed_total)")
        assert not prometheus_value("sum(prometheus_remote_storage_samples_dropped_total)")


def test_vmagent_scraping_itself_remote_writes_to_us(live_stack, folder):
    scrape = folder / "scrape.yml"
    scrape.write_text("global: {scrape_interval: 1s}\nscrape_configs:\n"
                      f"  - {{job_name: vmagent_self, static_configs: [{{targets: ['127.0.0.1:{VMAGENT_PORT}']}}]}}\n")
    # basic auth, the token as the password (Prometheus above sends it as a bearer token)
    vmagent = ["vmagent", f"-promscrape.config={scrape}", f"-remoteWrite.url={live_stack.url}/api/v1/write",
               "-remoteWrite.basicAuth.username=vmagent", f"-remoteWrite.basicAuth.password={TOKEN}",
               f"-remoteWrite.tmpDataPath={folder / 'buffer'}", "-remoteWrite.flushInterval=1s",
               f"-httpListenAddr=127.0.0.1:{VMAGENT_PORT}", "-loggerLevel=WARN"]
    with running(vmagent, folder, "vmagent"):
        wait_for("up{job=vmagent_self} stored",
                 lambda: "vmagent_self" in {labels.get("job") for labels in series_of(live_stack.url, "up")})
        wait_for("vmagent's own metrics stored", lambda: points_of(
            live_stack.url, "vmagent_remotewrite_requests_total", job="vmagent_self"))
        # A 4xx would be our fault (vmagent drops that data); a 503 of a loaded Cassandra is retried, so allowed.
        own = requests.get(f"http://127.0.0.1:{VMAGENT_PORT}/metrics", timeout=10).text
        refused = [line for line in own.splitlines() if line.startswith("vmagent_remotewrite_requests_total")
                   and 'status_code="4' in line and not line.endswith(" 0")]
        assert not refused, refused
