"""What every protocol endpoint shares: handing the parsed Samples to the ingest path, counting what was stored
and skipped, and the 204 they answer. Bodies are read with api/body.py's request_bytes (gzip unpacked within
max_body_bytes); credentials were checked before the view ran (metrics_server/auth/guard.py: bearer or basic for
Prometheus, vmagent and OTLP; a token as the password, or ?u=&p=, for Influx)."""
from flask import Response, current_app

from metrics_server.api.admission import charge
from metrics_server.api.lookup import quota, registry, rollups, server_config, store
from metrics_server.auth import check_metrics
from metrics_server.ingest.samples import Intake, Samples


def no_content(headers: dict | None = None) -> Response:
    """A 204: no body, so no Content-Type either."""
    response = Response(status=204, headers=headers)
    del response.headers["Content-Type"]
    return response


def store_samples(samples: Samples, protocol: str) -> int:
    """Validate and store the samples all or nothing (a 400 names the first bad one); returns points stored."""
    check_metrics(set(samples.names))  # a token limited to metric prefixes
    stored = Intake(registry(), store(), rollups(), server_config(), quota()).write(samples)
    metrics = current_app.extensions["selfmetrics"]
    metrics.points.inc(stored)
    charge(stored)
    for reason, count in samples.skipped.items():
        metrics.skipped.labels(protocol, reason).inc(count)
    return stored
