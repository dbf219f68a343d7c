"""What every blueprint looks up for a request: the app's stores, the request's read gateway, a metric by name
(a 404 naming it), and the series a label filter selects. The blueprints import this and nothing of each other,
so they stay peers."""
from flask import current_app, g

from metrics_server import auth
from metrics_server.errors import ApiError, NotFound
from metrics_server.ingest.rules import Quota
from metrics_server.limits import QueryLimits
from metrics_server.model import Metric
from metrics_server.query.gateway import Gateway
from metrics_server.storage.dashboards import DashboardStore
from metrics_server.storage.points import PointStore
from metrics_server.storage.registry import Registry
from metrics_server.storage.rollups import Rollups
from metrics_server.storage.series_index import matchers_of
from metrics_server.storage.usage import Usage


def registry() -> Registry:
    return current_app.extensions["registry"]


def store() -> PointStore:
    return current_app.extensions["points"]


def rollups() -> Rollups:
    return current_app.extensions["rollups"]


def dashboards() -> DashboardStore:
    return current_app.extensions["dashboards"]


def usage() -> Usage:
    return current_app.extensions["usage"]


def quota() -> Quota | None:
    """The API token this request's writes are charged to, for the per-token creation caps (None: not a token)."""
    who = auth.current()
    return Quota.of(usage(), who.ident) if who is not None else None


def server_config() -> dict:
    return current_app.config["METRICS_SERVER"]


def gateway() -> Gateway:
    """The request's one gateway to storage: its reads counted against one budget, its token's prefixes applied."""
    if "gateway" not in g:
        g.gateway = Gateway(registry(), store(), rollups(), QueryLimits.of(server_config()), auth.prefixes())
    return g.gateway


def with_article(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def find_metric(name: str, of_type: str | None = None) -> Metric:
    """The metric, or a 404 naming it (a 400 when an endpoint for one type is asked about another)."""
    metric = registry().get(name)
    if metric is None:
        raise NotFound(f"metric '{name}' not found")
    if of_type and metric.type != of_type:
        raise ApiError(f"metric '{name}' is {with_article(metric.type)}, not {with_article(of_type)}")
    return metric


def matching_series(metric: Metric, filters: dict[str, list[str]]) -> list[tuple[str, dict]]:
    """Series whose labels match every filter (repeated values of one key: any of them)."""
    unknown = sorted(key for key in filters if not metric.has_label(key))
    if unknown:
        raise ApiError(f"{unknown[0]}: not a label of metric '{metric.name}' "
                       f"(labels: {list(metric.label_keys)})", 400)
    return gateway().select(metric, matchers_of(filters))
