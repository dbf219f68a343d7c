"""What every protocol endpoint shares: reading the request body (decoded by its Content-Encoding, within
max_body_bytes) and handing the parsed Samples to the ingest path, counting what was stored and skipped.

Every protocol handler calls `protocol_body` first: that is the one place where a per-request credential
check (issue 10: bearer or basic for Prometheus, vmagent and OTLP; a token or user and password for Influx)
goes, before any body is read."""
import zlib

from flask import Response, current_app, request

from metrics_server.api.lookup import registry, rollups, server_config, store
from metrics_server.errors import ApiError
from metrics_server.ingest.samples import Intake, Samples


def protocol_body(encodings: tuple[str, ...] = ("identity", "gzip")) -> bytes:
    """The raw body, gunzipped when sent as gzip (other allowed encodings, snappy, are left to the parser);
    a 415 names an encoding the endpoint does not take, a 413 a body that unpacks past max_body_bytes."""
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower() or "identity"
    if encoding not in encodings:
        raise ApiError(f"Content-Encoding: expected {' or '.join(encodings)}, got {encoding!r}", 415)
    body = request.get_data(cache=False)
    if encoding != "gzip":
        return body
    limit = server_config()["max_body_bytes"]
    unpacker = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = unpacker.decompress(body, limit + 1)
    except zlib.error as error:
        raise ApiError(f"body is not gzip: {error}", 400) from None
    if len(data) > limit or unpacker.unconsumed_tail:
        raise ApiError(f"the gunzipped body exceeds max_body_bytes ({limit} bytes)", 413)
    return data


def no_content(headers: dict | None = None) -> Response:
    """A 204: no body, so no Content-Type either."""
    response = Response(status=204, headers=headers)
    del response.headers["Content-Type"]
    return response


def store_samples(samples: Samples, protocol: str) -> int:
    """Validate and store the samples all or nothing (a 400 names the first bad one); returns points stored."""
    stored = Intake(registry(), store(), rollups(), server_config()).write(samples)
    metrics = current_app.extensions["selfmetrics"]
    metrics.points.inc(stored)
    for reason, count in samples.skipped.items():
        metrics.skipped.labels(protocol, reason).inc(count)
    return stored
