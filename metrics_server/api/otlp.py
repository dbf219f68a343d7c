"""OpenTelemetry OTLP/HTTP metrics at POST /v1/metrics: protobuf or JSON, optionally gzipped; 200 with an
ExportMetricsServiceResponse in the request's format, its partial_success counting the points not taken."""
from flask import Blueprint, Response, request
from google.protobuf import json_format

from metrics_server.api.body import request_bytes
from metrics_server.api.intake import store_samples
from metrics_server.api.lookup import server_config
from metrics_server.api.openapi import documented
from metrics_server.errors import ApiError
from metrics_server.protocols import otlp
from metrics_server.schemas import now_ms

blueprint = Blueprint("otlp", __name__)
PROTOBUF = "application/x-protobuf"
JSON = "application/json"


@blueprint.post("/v1/metrics")
@documented("OTLP/HTTP metrics (protobuf or JSON, gzip allowed); 200 with partial_success for points not taken")
def export():
    kind = request.mimetype
    if kind not in (PROTOBUF, JSON):
        raise ApiError(f"Content-Type: expected {PROTOBUF} or {JSON}, got {kind or 'none'!r}", 415)
    samples, rejected, why = otlp.samples(otlp.decode(request_bytes(), kind == JSON), now_ms(),
                                          server_config()["max_buckets_per_point"])
    store_samples(samples, "otlp")
    answer = otlp.response(rejected, why)
    if kind == JSON:
        return Response(json_format.MessageToJson(answer, indent=None), mimetype=JSON)
    return Response(answer.SerializeToString(), mimetype=PROTOBUF)
