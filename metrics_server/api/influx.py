"""InfluxDB's write API at the root of the port (the `influx` CLI cannot add a path prefix): 1.x POST /write
and GET|HEAD /ping, 2.x POST /api/v2/write. Answers as InfluxDB does: 204, or JSON `{"error": ...}`."""
from flask import Blueprint, Response, request

from metrics_server.api.body import request_bytes
from metrics_server.api.intake import no_content, store_samples
from metrics_server.api.lookup import server_config
from metrics_server.api.openapi import documented
from metrics_server.errors import ApiError
from metrics_server.protocols import influx
from metrics_server.schemas import now_ms

blueprint = Blueprint("influx", __name__)
VERSION = "1.8.10-metrics_server"  # what /ping reports: clients check the header is there, and show it


def write_points(database: str, precision: str) -> Response:
    """Parse the body's lines and store all of their points or none; the database (or bucket), when named,
    is the `db` label."""
    body = request_bytes()
    try:
        text = body.decode()
    except UnicodeDecodeError as error:
        raise ApiError(f"body is not UTF-8 line protocol: {error}", 400) from None
    samples = influx.parse(text, precision, now_ms(), {"db": database} if database else None,
                           server_config()["max_batch_points"])
    store_samples(samples, "influx")
    return no_content({"X-Influxdb-Version": VERSION})


@blueprint.post("/write")
@documented("InfluxDB 1.x line protocol (db, precision: n, u, ms, s, m, h); 204 when stored", status="204")
def write_v1():
    return write_points(request.args.get("db", ""), request.args.get("precision") or "n")


@blueprint.post("/api/v2/write")
@documented("InfluxDB 2.x line protocol (bucket, precision: ns, us, ms, s); 204 when stored", status="204")
def write_v2():
    return write_points(request.args.get("bucket", ""), request.args.get("precision") or "ns")


@blueprint.route("/ping", methods=["GET", "HEAD"])
@documented("InfluxDB's liveness check: 204 with X-Influxdb-Version", status="204")
def ping():
    return no_content({"X-Influxdb-Version": VERSION})
