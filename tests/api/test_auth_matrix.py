"""The authorization matrix: every route of the app, by every method, with no token, a bad one, an expired one,
a revoked one, and read / write / admin tokens, against the real app on the real Cassandra. The routes come
from the url_map, so a route added later is checked without anyone listing it here."""
import re
import time
import uuid
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
        for argument in rule.arguments:  # an <int:...> parameter gets a number, else the route never matches
            path = re.sub(rf"<(?:(\w+):)?{argument}>", lambda m: "1" if m[1] == "int" else "matrix_nothing", path)
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


# ---- metric name prefixes: the same limit through every route ----

PREFIX = "mxin_"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def tenant(config, db, auth_headers):
    """Two metrics, one inside the prefix and one outside it (with a label key only it has), both with a point
    a minute ago, and tokens limited to the prefix: a reader, a writer (who also reads and deletes), an admin."""
    from metrics_server.app import create_app

    admin = webtest.TestApp(create_app(config, db=db), extra_environ={"HTTP_AUTHORIZATION": auth_headers["Authorization"]})
    suffix = uuid.uuid4().hex[:8]
    inside, outside = f"{PREFIX}{suffix}", f"mxout_{suffix}"
    stamp = (int(time.time()) - 60) * 1000
    admin.post_json("/api/write", [{"name": inside, "value": 1.5, "timestamp": stamp, "labels": {"host": "a"}},
                                   {"name": outside, "value": 42.5, "timestamp": stamp,
                                    "labels": {f"secret_{suffix}": "s"}}], status=201)
    store = AuthStore(db)
    tokens = {kind: store.create_token(f"prefix {kind}", scopes, metric_prefixes=[PREFIX])[0]
              for kind, scopes in (("read", ["read"]), ("write", ["read", "write", "delete"]), ("admin", ["admin"]))}
    yield {"root": admin, "inside": inside, "outside": outside, "secret_key": f"secret_{suffix}",
           "stamp": stamp, **tokens}
    for metric in (inside, outside):
        admin.delete(f"/api/metrics/{metric}", status="*")


def test_every_route_naming_a_metric_outside_the_prefix_answers_403_to_every_limited_token(config, db, tenant):
    from metrics_server.app import create_app

    app = create_app(config, db=db)
    client = webtest.TestApp(app)
    checked = 0
    for method, rule, _ in routes(app):
        if "<name>" not in rule or not rule.startswith("/api/metrics/"):
            continue
        path = rule.replace("<name>", tenant["outside"]).replace("<key>", "host")
        for kind in ("read", "write", "admin"):
            status = client.request(path, method=method, headers=bearer(tenant[kind]), expect_errors=True).status_int
            assert status == 403, (method, rule, kind, status)
            checked += 1
    assert checked >= 20


def test_a_limited_read_token_sees_nothing_outside_its_prefix_through_any_read_api(tenant):
    client = webtest.TestApp(tenant["root"].app)
    client.authorization = ("Bearer", tenant["read"])
    inside, outside = tenant["inside"], tenant["outside"]
    listed = [m["name"] for m in client.get("/api/metrics").json]
    assert inside in listed and outside not in listed
    client.get("/api/query", {"metric": outside, "start": "-1h"}, status=403)
    everything = '{__name__=~".+"}'
    for path, params in (("/api/v1/query", {"query": everything}),
                         ("/api/v1/query_range", {"query": everything, "start": tenant["stamp"] / 1000 - 60,
                                                  "end": tenant["stamp"] / 1000 + 60, "step": 15}),
                         ("/api/v1/series", {"match[]": everything})):
        for method in ("GET", "POST"):
            answer = (client.get(path, params) if method == "GET" else client.post(path, params)).json["data"]
            names = {(item.get("metric") or item)["__name__"] for item in
                     (answer["result"] if isinstance(answer, dict) else answer)}
            assert inside in names and outside not in names, (path, method, names)
    assert client.get("/api/v1/query", {"query": f"{outside} * 0 + 1"}).json["data"]["result"] == []
    assert tenant["secret_key"] not in client.get("/api/v1/labels").json["data"]
    values = client.get("/api/v1/label/__name__/values").json["data"]
    assert inside in values and outside not in values
    metadata = client.get("/api/v1/metadata").json["data"]
    assert inside in metadata and outside not in metadata


def test_remote_read_with_a_limited_token_returns_no_series_outside_the_prefix(tenant):
    import cramjam

    from metrics_server.protocols.remote_write import PROMPB

    def read(name: str) -> int:
        request = PROMPB["ReadRequest"]()
        query = request.queries.add(start_timestamp_ms=tenant["stamp"] - 60_000,
                                    end_timestamp_ms=tenant["stamp"] + 60_000)
        query.matchers.add(type=0, name="__name__", value=name)
        body = bytes(cramjam.snappy.compress_raw(request.SerializeToString()))
        answer = client.post("/api/v1/read", data=body, headers={"Content-Type": "application/x-protobuf",
                                                                 "Content-Encoding": "snappy", **bearer(tenant["read"])})
        assert answer.status_code == 200, answer.data
        response = PROMPB["ReadResponse"]()
        response.ParseFromString(bytes(cramjam.snappy.decompress_raw(answer.data)))
        return len(response.results[0].timeseries)

    client = tenant["root"].app.test_client()  # webtest would try to unpack the snappy answer itself
    assert read(tenant["inside"]) == 1
    assert read(tenant["outside"]) == 0


def test_a_limited_write_token_cannot_create_metrics_outside_its_prefix(tenant):
    client = webtest.TestApp(tenant["root"].app)
    client.authorization = ("Bearer", tenant["write"])
    squat = f"mxsquat_{uuid.uuid4().hex[:8]}"
    assert "may not touch metric" in client.post_json("/api/metrics", {"name": squat}, status=403).json["error"]
    assert tenant["root"].get(f"/api/metrics/{squat}", status=404)
    mine = f"{PREFIX}made_{uuid.uuid4().hex[:8]}"
    client.post_json("/api/metrics", {"name": mine}, status=201)
    tenant["root"].delete(f"/api/metrics/{mine}")


def test_limited_admin_mints_nothing_beyond_what_it_holds(tenant):
    client = webtest.TestApp(tenant["root"].app)
    client.authorization = ("Bearer", tenant["admin"])
    made = client.post_json("/api/auth/tokens", {"name": "child", "scopes": ["admin"]}, status=201).json
    assert made["metric_prefixes"] == [PREFIX]  # inherits the limit: no unrestricted admin token
    narrower = client.post_json("/api/auth/tokens", {"name": "n", "scopes": ["read"],
                                                     "metric_prefixes": [PREFIX + "web_"]}, status=201).json
    assert narrower["metric_prefixes"] == [PREFIX + "web_"]
    error = client.post_json("/api/auth/tokens", {"name": "wide", "scopes": ["read"],
                                                  "metric_prefixes": ["other_"]}, status=403).json["error"]
    assert "beyond" in error and PREFIX in error
    assert "not limited to metric prefixes" in client.post_json(
        "/api/auth/users", {"username": f"u{uuid.uuid4().hex[:8]}", "password": "correct horse battery",
                            "scopes": ["admin"]}, status=403).json["error"]
    listed = {token["id"] for token in client.get("/api/auth/tokens").json}
    assert made["id"] in listed and all(token["metric_prefixes"] for token in client.get("/api/auth/tokens").json)
    unlimited = tenant["root"].post_json("/api/auth/tokens", {"name": "top", "scopes": ["read"]}).json
    client.delete(f"/api/auth/tokens/{unlimited['id']}", status=404)  # outside its reach: not even seen


def test_dashboards_are_seen_and_changed_only_within_the_prefix(tenant):
    admin = tenant["root"]
    mine = admin.post_json("/api/dashboards", {"title": f"Admin {uuid.uuid4().hex[:6]}"}, status=201).json
    limited = webtest.TestApp(admin.app)
    limited.authorization = ("Bearer", tenant["write"])
    limited.put_json(f"/api/dashboards/{mine['id']}", {**mine, "title": "owned"}, status=404)
    limited.delete(f"/api/dashboards/{mine['id']}", status=404)
    limited.get(f"/api/dashboards/{mine['id']}/versions", status=404)  # its history as hidden as it is
    limited.post_json(f"/api/dashboards/{mine['id']}/restore", {"restore": 1, "version": 1}, status=404)
    assert mine["id"] not in {d["id"] for d in limited.get("/api/dashboards").json}
    theirs = limited.post_json("/api/dashboards", {"title": f"Team {uuid.uuid4().hex[:6]}"}, status=201).json
    assert theirs["metric_prefixes"] == [PREFIX] and theirs["owner"].startswith("token:")
    other = AuthStore(admin.app.extensions["db"]).create_token("peer", ["write"], metric_prefixes=[PREFIX])[0]
    peer = webtest.TestApp(admin.app)
    peer.authorization = ("Bearer", other)
    theirs = peer.put_json(f"/api/dashboards/{theirs['id']}", {**theirs, "title": "peer"}, status=200).json
    assert theirs["owner"].startswith("token:")  # the team edits it; its owner stays who made it
    theirs = peer.post_json(f"/api/dashboards/{theirs['id']}/restore", {"restore": 1, "version": 2}).json
    assert theirs["version"] == 3  # the team restores it too
    assert admin.get(f"/api/dashboards/{mine['id']}").json["title"] == mine["title"]
    admin.put_json(f"/api/dashboards/{theirs['id']}", {**theirs, "title": "by the admin"}, status=200)
    for made in (mine, theirs):
        admin.delete(f"/api/dashboards/{made['id']}")


def test_rule_groups_read_and_write_only_inside_their_owners_prefix(tenant):
    admin = tenant["root"]
    limited = webtest.TestApp(admin.app)
    limited.authorization = ("Bearer", tenant["write"])
    suffix = uuid.uuid4().hex[:6]
    hijack = {"name": f"hijack_{suffix}", "interval": "10s",
              "rules": [{"record": tenant["outside"], "expr": "vector(31337)"}]}
    error = limited.post_json("/api/alerts/rules", hijack, status=400).json["error"]
    assert "record" in error and PREFIX in error
    group = {"name": f"team_{suffix}", "interval": "10s",
             "rules": [{"record": f"{PREFIX}copy_{suffix}", "expr": tenant["outside"]}]}
    saved = limited.post_json("/api/alerts/rules", group, status=201).json
    assert saved["metric_prefixes"] == [PREFIX] and saved["owner"].startswith("token:")
    escape = {**group, "metric_prefixes": []}
    assert limited.put_json(f"/api/alerts/rules/{group['name']}", escape).json["metric_prefixes"] == [PREFIX]
    admins = {"name": f"admins_{suffix}", "rules": [{"alert": "Up", "expr": "vector(1)"}]}
    admin.post_json("/api/alerts/rules", admins, status=201)
    limited.put_json(f"/api/alerts/rules/{admins['name']}", admins, status=404)
    limited.delete(f"/api/alerts/rules/{admins['name']}", status=404)
    assert [g["name"] for g in limited.get("/api/alerts/rules").json["groups"]] == [group["name"]] or all(
        g.get("metric_prefixes") for g in limited.get("/api/alerts/rules").json["groups"])
    # what the rule would read: the outside metric does not exist for it, the inside one does
    spec = {"rule": {"alert": "Seen", "expr": f"{tenant['outside']} > 0"}, "interval": "15s",
            "start": tenant["stamp"] / 1000 - 30, "end": tenant["stamp"] / 1000 + 30}
    reader = webtest.TestApp(admin.app)
    reader.authorization = ("Bearer", tenant["read"])
    assert reader.post_json("/api/alerts/backtest", spec).json["transitions"] == []
    assert admin.post_json("/api/alerts/backtest", spec).json["transitions"] != []
    for name in (group["name"], admins["name"]):
        admin.delete(f"/api/alerts/rules/{name}")


def test_receiver_urls_are_shown_to_admins_only(tenant, db):
    from metrics_server.storage.alerts import AlertStore

    secret_url = f"http://hooks.example/{uuid.uuid4().hex}?key=s3cret"
    AlertStore(db).record_delivery("webhook-0", secret_url, 1, True, 200, "", 1, 3.0)
    admin = tenant["root"]
    assert secret_url in {a["url"] for a in admin.get("/api/alerts/notifications", {"start": "-1h"}).json["attempts"]}
    reader = webtest.TestApp(admin.app)
    reader.authorization = ("Bearer", AuthStore(db).create_token("reader", ["read"])[0])
    attempts = reader.get("/api/alerts/notifications", {"start": "-1h"}).json["attempts"]
    assert attempts and all(a["url"] is None for a in attempts)
