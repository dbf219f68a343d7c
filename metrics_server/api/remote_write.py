"""Prometheus remote_write 1.0 at POST /api/v1/write (Prometheus, vmagent and other senders)."""
from flask import Blueprint, current_app

from metrics_server.api.body import request_bytes
from metrics_server.api.intake import no_content, store_samples
from metrics_server.api.lookup import registry, server_config
from metrics_server.api.openapi import documented
from metrics_server.protocols import remote_write
from metrics_server.protocols.prometheus import counters_of

blueprint = Blueprint("remote_write", __name__)
MAX_FAMILIES = 100_000  # metadata remembered per process; a sender with more families starts it afresh


def families() -> dict[str, remote_write.Family]:
    """The metric families' metadata this process has been sent (Prometheus sends it in requests of its own,
    every metadata_config.send_interval), consulted when a sample creates a metric."""
    return current_app.extensions.setdefault("prometheus_families", {})


def identities() -> remote_write.Identities:
    """The series this process has been sent, by their labels' bytes (bounded)."""
    return current_app.extensions.setdefault("prometheus_series", remote_write.Identities())


@blueprint.post("/v1/write")
@documented("Prometheus remote_write 1.0: a snappy-compressed protobuf WriteRequest; 204 when stored",
            status="204")
def write():
    """Store every sample of the request or none (a 400 names the first bad series: senders do not retry 4xx);
    a 503 when Cassandra does not take them (senders retry)."""
    body = request_bytes(("snappy", "identity"))
    decoded = remote_write.decode(body, server_config()["max_body_bytes"])
    known = families()
    if decoded.metadata:
        if len(known) > MAX_FAMILIES:
            known.clear()
        sent = remote_write.families(decoded)
        known.update(sent)
        # Metadata decides whenever it comes: a metric created from samples sent before it (a gauge, by its
        # name) becomes the counter its family says (issue 23; Prometheus sends metadata once a minute, apart).
        registry().retype(counters_of({family: meta.type for family, meta in sent.items()}), "gauge", "counter")
    store_samples(remote_write.samples(decoded, known, identities()), "remote_write")
    return no_content()
