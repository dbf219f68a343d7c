"""The HTTP API, one blueprint per resource, under /api; other agents' write protocols where their clients
expect them (Influx's /write and /ping, OTLP's /v1/metrics at the root)."""
from flask import Flask

from metrics_server.api import (
    alerts,
    auth,
    dashboards,
    data,
    docs,
    enums,
    health,
    histograms,
    influx,
    metrics,
    otlp,
    prom,
    query,
    remote_read,
    remote_write,
    series,
)


def init_app(app: Flask) -> None:
    """Register every blueprint."""
    for module in (health, metrics, data, series, query, enums, histograms, prom, alerts, dashboards, remote_write,
                   remote_read, auth):
        app.register_blueprint(module.blueprint, url_prefix="/api")
    for module in (influx, otlp):
        app.register_blueprint(module.blueprint)
    docs.init_app(app)
