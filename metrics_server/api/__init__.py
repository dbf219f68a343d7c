"""The HTTP API, one blueprint per resource, all under /api."""
from flask import Flask

from metrics_server.api import alerts, dashboards, data, docs, enums, health, histograms, metrics, prom, query


def init_app(app: Flask) -> None:
    """Register every blueprint."""
    for module in (health, metrics, data, query, enums, histograms, prom, alerts, dashboards):
        app.register_blueprint(module.blueprint, url_prefix="/api")
    docs.init_app(app)
