"""Liveness and Cassandra reachability, for nginx, docker and people."""
from flask import Blueprint, current_app

from metrics_server.api.openapi import documented
from metrics_server.errors import StorageUnavailable
from metrics_server.jsonio import json_response

blueprint = Blueprint("health", __name__)


@blueprint.get("/health")
@documented("Liveness and Cassandra reachability (503 when unreachable)")
def health():
    """200 when Cassandra answers, 503 with the reason when it does not."""
    try:
        cassandra = current_app.extensions["db"].ping()
    except StorageUnavailable as error:
        return json_response({"status": "unavailable", "cassandra": "unreachable", "error": error.message}, 503)
    return json_response({"status": "ok", "cassandra": {"reachable": True, **cassandra}})
