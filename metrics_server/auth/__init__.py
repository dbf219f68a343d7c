"""Access control: API tokens with scopes, users with argon2id passwords, dashboard sessions with CSRF
protection, per-token rate limits. guard.py decides every request, policy.py is the table it decides by."""
from flask import Flask, current_app, g

from metrics_server.auth.guard import Guard, Principal
from metrics_server.auth.store import AuthStore
from metrics_server.errors import ApiError


def init_app(app: Flask) -> None:
    """Check every request before its view runs."""
    store = AuthStore(app.extensions["db"])
    guard = Guard(store, app.config["METRICS_SERVER"])
    app.extensions["auth_store"] = store
    app.extensions["auth_guard"] = guard
    app.before_request(guard)


def principal() -> Principal:
    """Who the current request acts for (set by the guard on every non-public route)."""
    return g.principal


def check_metrics(names) -> None:
    """A 403 when the request's token is limited to metric name prefixes and a name is outside them (for views
    whose metric names come in the body or query string rather than the path)."""
    who = g.get("principal")
    outside = sorted({name for name in names if who is not None and not who.may_touch(name)})
    if outside:
        raise ApiError(f"forbidden: {who.kind} '{who.name}' may not touch metric '{outside[0]}' (limited to "
                       + ", ".join(who.metric_prefixes) + ")", 403)


def store() -> AuthStore:
    return current_app.extensions["auth_store"]


def guard() -> Guard:
    return current_app.extensions["auth_guard"]
