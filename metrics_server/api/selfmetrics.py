"""The server's own metrics in Prometheus text format at /metrics, one registry per app (per process)."""
import os
import time

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from metrics_server.supervise import RESTARTS_ENV


class SelfMetrics:
    """Request counts and latency by route and status, requests in flight, points ingested, Cassandra errors."""

    def __init__(self, registry: CollectorRegistry):
        self.registry = registry
        self.requests = Counter("metrics_server_http_requests", "HTTP requests served",
                                ("method", "route", "status"), registry=registry)
        self.latency = Histogram("metrics_server_http_request_duration_seconds", "HTTP request latency",
                                 ("method", "route"), registry=registry,
                                 buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30))
        self.in_flight = Gauge("metrics_server_http_requests_in_flight", "HTTP requests being handled now",
                               ("method",), registry=registry)
        self.points = Counter("metrics_server_points_ingested", "Points acknowledged as stored", registry=registry)
        self.skipped = Counter("metrics_server_samples_skipped", "Protocol samples that are not values by the "
                               "protocol's own rules (stale markers, NaN, no recorded value), not stored",
                               ("protocol", "reason"), registry=registry)
        self.cassandra_errors = Counter("metrics_server_cassandra_errors", "Requests failed because Cassandra "
                                        "was unreachable or did not acknowledge", ("route",), registry=registry)
        self.restarts = Counter("metrics_server_restarts", "Times this instance died on its own and was started "
                                "again by its supervisor (metrics_server.supervise)", registry=registry)
        self.restarts.inc(int(os.environ.get(RESTARTS_ENV, "0")))


class ClosingIterable:
    """A WSGI answer that calls `on_close` once the server has sent it and closed it (a streamed CSV too)."""

    def __init__(self, body, on_close):
        self.body, self.on_close = body, on_close

    def __iter__(self):
        return iter(self.body)

    def close(self):
        try:
            if hasattr(self.body, "close"):
                self.body.close()
        finally:
            self.on_close()


class CountedInFlight:
    """WSGI middleware keeping the in-flight gauge: up when a request comes in, down when its answer is closed.
    (Flask's teardown runs twice for an answer streamed with stream_with_context, once before the stream.)"""

    def __init__(self, app, gauge: Gauge):
        self.app, self.gauge = app, gauge

    def __call__(self, environ, start_response):
        gauge = self.gauge.labels(environ.get("REQUEST_METHOD", ""))
        gauge.inc()
        try:
            body = self.app(environ, start_response)
        except BaseException:
            gauge.dec()
            raise
        return ClosingIterable(body, gauge.dec)


def init_app(app: Flask) -> SelfMetrics:
    """Time every request and expose the registry."""
    metrics = SelfMetrics(CollectorRegistry())
    app.extensions["selfmetrics"] = metrics
    rollups = app.extensions.get("rollups")
    if rollups is not None:  # the rollup backlog (issue 14): marked partitions waiting, as this worker last saw
        Gauge("metrics_server_rollup_backlog", "Raw partitions marked and not yet recomputed into hourly rollups, "
              "as this instance's worker last counted them", registry=metrics.registry).set_function(
            lambda: sum(rollups.backlog.values()))

    app.wsgi_app = CountedInFlight(app.wsgi_app, metrics.in_flight)

    @app.before_request
    def start_timer():
        g.started = time.perf_counter()

    @app.after_request
    def record(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule else "unmatched"
        metrics.requests.labels(request.method, route, str(response.status_code)).inc()
        if response.status_code == 503:
            metrics.cassandra_errors.labels(route).inc()
        if "started" in g:
            metrics.latency.labels(request.method, route).observe(time.perf_counter() - g.started)
        return response

    @app.get("/metrics")
    def exposition():
        return Response(generate_latest(metrics.registry), mimetype=CONTENT_TYPE_LATEST)

    return metrics
