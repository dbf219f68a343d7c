"""Access control: API tokens with scopes, users with argon2id passwords, dashboard sessions with CSRF
protection, per-token rate limits. guard.py decides every request, policy.py is the table it decides by.

The helpers below apply a token's metric name prefixes where the guard cannot see the names (in bodies, in
selectors, in what a listing returns) and to what a request makes or changes (tokens, users, dashboards, rule
groups): every view calls these, none decides on prefixes itself."""
from flask import Flask, current_app, g

from metrics_server.auth import policy
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


def current() -> Principal | None:
    """The principal of this request; None on a public route (or outside a request, e.g. the evaluator)."""
    return g.get("principal")


def prefixes() -> tuple[str, ...]:
    """The metric name prefixes this request is limited to (empty: none)."""
    who = current()
    return who.metric_prefixes if who is not None else ()


def may_touch(name: str) -> bool:
    """Whether this request may read or write the metric (for filtering what a listing shows)."""
    return policy.may_touch(prefixes(), name)


def granted(asked, what: str) -> tuple[str, ...]:
    """The prefixes something this request makes is limited to: the asked ones when the requester holds them all,
    the requester's own when none are asked; a 403 naming both otherwise (no grant beyond what one holds)."""
    asked = tuple(sorted(set(asked or ())))
    held = prefixes()
    if not asked:
        return held
    if not policy.within(asked, held):
        who = current()
        raise ApiError(f"forbidden: {what} limited to {', '.join(asked)} would reach beyond what {who.kind} "
                       f"'{who.name}' holds (metric prefixes {', '.join(held)})", 403)
    return asked


def check_unlimited(what: str) -> None:
    """A 403 when this request is limited to prefixes and would make something that has no such limit."""
    held = prefixes()
    if held:
        who = current()
        raise ApiError(f"forbidden: {what} is not limited to metric prefixes, so {who.kind} '{who.name}' (limited "
                       f"to {', '.join(held)}) may not make one", 403)


def may_see(limited_to) -> bool:
    """Whether this request covers something limited to these prefixes (a dashboard, a rule group, a token)."""
    return policy.within(tuple(limited_to), prefixes())


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
