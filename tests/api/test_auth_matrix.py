"""The authorization matrix: every route of the app, by every method, with no token, a bad one, an expired one,
a revoked one, and read / write / admin tokens, against the real app on the real Cassandra. The routes come
from the url_map, so a route added later is checked without anyone listing it here."""
from datetime import timedelta

import pytest
import webtest

from metrics_server.auth.store import AuthStore, now

# What the README promises, written out independently of metrics_server/auth/policy.py.
PUBLIC = {("GET", "/api/health"), ("GET", "/api/openapi.json"), ("GET", "/metrics"), ("GET", "/ping"),
          ("POST", "/api/auth/login"),
          ("POST", "/api/auth/setup"), ("GET", "/api/docs"), ("GET", "/api/docs/"), ("GET", "/api/docs/<path:path>")}
SIGNED_IN = {("GET", "/api/auth/me"), ("POST", "/api/auth/logout"), ("POST", "/api/auth/password")}
READ_POSTS = {"/api/v1/query", "/api/v1/query_range", "/api/v1/series", "/api/v1/labels",
              "/api/v1/query_exemplars", "/api/v1/format_query", "/api/v1/parse_query", "/api/v1/read",
              "/api/alerts/backtest"}


def needed(method: str, rule: str) -> str | None:
    if (method, rule) in PUBLIC:
        return None
    if (method, rule) in SIGNED_IN:
        return "any"
    if rule.startswith(("/api/auth/tokens", "/api/auth/users")):
        return "admin"
    if method == "GET" or (method == "POST" and rule in READ_POSTS):
        return "read"
    return "delete" if method == "DELETE" else "write"


def routes(app) -> list[tuple[str, str, str]]:
    """(method, rule, a concrete path) for every route; path parameters get a name nothing has."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = rule.rule
        for argument in rule.arguments:
            path = path.replace(f"<{argument}>", "matrix_nothing").replace(f"<path:{argument}>", "matrix_nothing")
        found += [(method, rule.rule, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


@pytest.fixture(scope="module")
def credentials(config, db):
    """Authorization header values by kind: real tokens minted in Cassandra, and broken ones."""
    store = AuthStore(db)
    made = {scope: store.create_token(f"matrix {scope}", [scope])[0] for scope in ("read", "write", "admin")}
    made["expired"] = store.create_token("matrix expired", ["admin"], expires_at=now() - timedelta(seconds=1))[0]
    revoked, token = store.create_token("matrix revoked", ["admin"])
    store.revoke_token(token.id)
    made["revoked"] = revoked
    made["bad"] = made["admin"][:-4] + "AAAA"
    made["garbage"] = "not-a-token"
    return made


def test_every_route_answers_each_principal_as_the_scope_table_says(config, db, credentials):
    from metrics_server.app import create_app

    app = create_app(config, db=db)
    client = webtest.TestApp(app)
    checked = 0
    for method, rule, path in routes(app):
        scope = needed(method, rule)
        for kind in (None, "bad", "garbage", "expired", "revoked", "read", "write", "admin"):
            headers = {"Authorization": f"Bearer {credentials[kind]}"} if kind else {}
            status = client.request(path, method=method, headers=headers, expect_errors=True).status_int
            if scope is None:
                allowed = True
            elif kind in (None, "bad", "garbage", "expired", "revoked"):
                assert status == 401, (method, rule, kind, status)
                checked += 1
                continue
            else:
                allowed = scope == "any" or kind == "admin" or kind == scope
            where = (method, rule, kind, status)
            if allowed:
                # authorised: whatever the view answers (400 for the missing body, 404 for the made-up name),
                # it is not the guard's 401/403 (the password change is for signed-in people, not tokens)
                assert status not in (401, 403) or rule == "/api/auth/password", where
            else:
                assert status == 403, where
            checked += 1
    assert checked > 100


def test_unauthenticated_answers_say_how_to_authenticate(client):
    client.authorization = None
    response = client.get("/api/metrics", status=401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in response.json["error"]
    assert client.get("/api/metrics", headers={"Authorization": "Digest x"}, status=401).json["error"].startswith(
        "Authorization:")
