"""Prometheus remote_read at POST /api/v1/read: a Prometheus with `remote_read: [{url: .../api/v1/read}]`
answers PromQL over our history too. Bounded like every query (series, partition reads, the deadline)."""
from flask import Blueprint, Response

from metrics_server import promql
from metrics_server.api.body import request_bytes
from metrics_server.api.lookup import gateway, server_config
from metrics_server.api.openapi import documented
from metrics_server.errors import ApiError
from metrics_server.protocols import remote_read
from metrics_server.query.promsource import StoreSource

blueprint = Blueprint("remote_read", __name__)


@blueprint.post("/v1/read")
@documented("Prometheus remote_read: a snappy-compressed protobuf ReadRequest in, the samples of each query out")
def read():
    """Each query's series with their samples in [start, end], one QueryResult per query, in order."""
    queries = remote_read.decode(request_bytes(("snappy", "identity")), server_config()["max_body_bytes"])
    source = StoreSource(gateway())
    try:
        with source.gateway.deadline():
            results = [source(matchers, start, end) for matchers, start, end in queries]
    except promql.PromQLError as error:
        raise ApiError(str(error), error.status) from None
    return Response(remote_read.encode(results), content_type="application/x-protobuf",
                    headers={"Content-Encoding": "snappy"})
