"""Which scope a request needs (the one table every route is judged by, by method and URL rule), and what a
token limited to metric name prefixes covers (the one rule every route applies to names, see the end).

Read top to bottom, first match wins:

    public (no credentials)   GET /api/health, GET /api/openapi.json, /api/docs..., GET /metrics (each instance's
                              own metrics, not routed by nginx), GET /ping (InfluxDB clients' liveness check),
                              POST /api/auth/login, POST /api/auth/setup
    any signed-in principal   /api/auth/me, POST /api/auth/logout, POST /api/auth/password
    admin                     /api/auth/tokens..., /api/auth/users...
    read                      GET, HEAD, OPTIONS; POST to the read-only endpoints Prometheus' API also takes by
                              POST (query, query_range, series, labels, ...: a form body instead of a query string),
                              remote_read (/api/v1/read), and /api/alerts/backtest (a computation that stores nothing)
    delete                    DELETE
    write                     every other POST, PUT, PATCH (/api/write, /write, /api/v1/write, /api/v2/write,
                              /v1/metrics, /api/metrics, /api/dashboards, /api/v1/rules, ...)

A new route therefore needs credentials from the moment it exists: it is public only by being listed here.
"""
PUBLIC = "public"
SIGNED_IN = "signed-in"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_ROUTES = frozenset({
    ("GET", "/api/health"), ("GET", "/api/openapi.json"), ("GET", "/metrics"), ("GET", "/ping"),
    ("POST", "/api/auth/login"), ("POST", "/api/auth/setup"),
})
PUBLIC_PREFIXES = ("/api/docs",)  # Swagger UI's page and assets
SIGNED_IN_ROUTES = frozenset({("GET", "/api/auth/me"), ("POST", "/api/auth/logout"), ("POST", "/api/auth/password")})
ADMIN_PREFIXES = ("/api/auth/tokens", "/api/auth/users")
# The endpoints that store points, in every protocol: limited by api/admission.py (503 + Retry-After, which every
# sender retries), never by the request-count limits that answer 429.
WRITE_ENDPOINTS = frozenset({"data.write", "data.insert_data", "remote_write.write", "influx.write_v1",
                             "influx.write_v2", "otlp.export"})
READ_BY_POST = frozenset({
    "/api/v1/query", "/api/v1/query_range", "/api/v1/series", "/api/v1/labels", "/api/v1/query_exemplars",
    "/api/v1/format_query", "/api/v1/parse_query", "/api/v1/read", "/api/alerts/backtest",
})


def required_scope(method: str, rule: str) -> str:
    """PUBLIC, SIGNED_IN or the scope ('read', 'write', 'delete', 'admin') a request for this URL rule needs."""
    method = "GET" if method == "HEAD" else method
    if (method, rule) in PUBLIC_ROUTES or (method in SAFE_METHODS and rule.startswith(PUBLIC_PREFIXES)):
        return PUBLIC
    if (method, rule) in SIGNED_IN_ROUTES:
        return SIGNED_IN
    if rule.startswith(ADMIN_PREFIXES):
        return "admin"
    if method in SAFE_METHODS or (method == "POST" and rule in READ_BY_POST):
        return "read"
    if method == "DELETE":
        return "delete"
    return "write"


# Metric name prefixes: a token may be limited to names starting with some prefixes (none: every name). The same
# limit binds everything done in its name, reads and writes, and everything it makes: tokens it mints, dashboards
# and rule groups it saves (a rule reads and writes only inside its group's prefixes).

def may_touch(prefixes: tuple[str, ...], metric: str) -> bool:
    """Whether a grant limited to `prefixes` (empty: unlimited) covers this metric name."""
    return not prefixes or metric.startswith(prefixes)


def within(asked: tuple[str, ...], held: tuple[str, ...]) -> bool:
    """Whether a grant limited to `asked` covers no name that `held` does not: unlimited only within unlimited,
    each asked prefix an extension of a held one."""
    if not held:
        return True
    return bool(asked) and all(prefix.startswith(held) for prefix in asked)
