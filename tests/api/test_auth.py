"""Tokens, users, sessions and CSRF against the real app and Cassandra: what the API and the CLI create, how
each credential form is accepted, and that Cassandra never holds a raw token, password or session id."""
import base64
import subprocess
import sys

import pytest
import webtest

from metrics_server.app import create_app
from metrics_server.auth.store import AuthStore

PASSWORD = "correct horse battery staple"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def anonymous(app) -> webtest.TestApp:
    return webtest.TestApp(app)


def test_a_token_made_by_the_api_works_in_every_form_clients_send(client, anonymous, name):
    made = client.post_json("/api/auth/tokens", {"name": "agent", "scopes": ["write", "read"]}, status=201).json
    token = made["token"]
    assert token.startswith("mts_") and made["scopes"] == ["read", "write"] and made["last_used_at"] is None
    point = [{"name": name, "value": 1.0}]
    forms = [bearer(token), {"Authorization": f"Token {token}"},
             {"Authorization": "Basic " + base64.b64encode(f"user:{token}".encode()).decode()}]
    for headers in forms:
        anonymous.post_json("/api/write", point, headers=headers, status=201)
    assert anonymous.get(f"/api/metrics/{name}", headers=bearer(token)).json["name"] == name
    listed = {t["id"]: t for t in client.get("/api/auth/tokens").json}[made["id"]]
    assert "token" not in listed and listed["last_used_at"] is not None


def test_a_revoked_token_is_refused_at_once_by_the_instance_that_revoked_it(client, anonymous):
    made = client.post_json("/api/auth/tokens", {"name": "short-lived", "scopes": ["read"]}, status=201).json
    anonymous.get("/api/metrics", headers=bearer(made["token"]), status=200)
    client.delete(f"/api/auth/tokens/{made['id']}", status=200)
    assert "revoked" in anonymous.get("/api/metrics", headers=bearer(made["token"]), status=401).json["error"]
    assert client.delete("/api/auth/tokens/nosuchid", status=404).json["error"] == "token 'nosuchid' not found"


def test_token_limited_to_prefixes_touches_only_those_metrics(client, anonymous, name):
    client.post_json("/api/metrics", {"name": name}, status=201)
    made = client.post_json("/api/auth/tokens", {"name": "team", "scopes": ["read"],
                                                 "metric_prefixes": ["team_a_"]}, status=201).json
    assert "limited to" in anonymous.get(f"/api/metrics/{name}", headers=bearer(made["token"]), status=403).json[
        "error"]
    assert "may not touch metric" in anonymous.get("/api/query", {"metric": name, "start": "-1h"},
                                                   headers=bearer(made["token"]), status=403).json["error"]
    writer = client.post_json("/api/auth/tokens", {"name": "team w", "scopes": ["write"],
                                                   "metric_prefixes": ["team_a_"]}, status=201).json["token"]
    anonymous.post_json("/api/write", [{"name": f"team_a_{name}", "value": 1}], headers=bearer(writer), status=201)
    assert "may not touch metric" in anonymous.post_json("/api/write", [{"name": name, "value": 1}],
                                                         headers=bearer(writer), status=403).json["error"]


def test_token_bodies_are_checked_naming_the_field(client):
    assert client.post_json("/api/auth/tokens", {"name": "x", "scopes": ["root"]}, status=400).json[
        "error"].startswith("scopes.0: expected one of read")
    assert client.post_json("/api/auth/tokens", {"name": "x"}, status=400).json["error"].startswith("scopes:")


def test_sign_in_sets_a_strict_http_only_cookie_and_csrf_guards_changes(client, anonymous, name):
    user = f"u_{name}"
    client.post_json("/api/auth/users", {"username": user, "password": PASSWORD, "scopes": ["write"]}, status=201)
    anonymous.post_json("/api/auth/login", {"username": user, "password": "wrong password!"}, status=401)
    anonymous.post_json("/api/auth/login", {"username": "nobody_" + name, "password": PASSWORD}, status=401)
    signed = anonymous.post_json("/api/auth/login", {"username": user, "password": PASSWORD}, status=200)
    cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie and "Secure" not in cookie
    csrf = signed.json["csrf_token"]
    assert anonymous.get("/api/auth/me").json == {"kind": "session", "name": user, "scopes": ["write"],
                                                  "metric_prefixes": [], "auth": True, "csrf_token": csrf}
    point = [{"name": name, "value": 2.0}]
    # a change without the CSRF header, with a wrong one, or from another site is refused
    assert "X-CSRF-Token" in anonymous.post_json("/api/write", point, status=403).json["error"]
    anonymous.post_json("/api/write", point, headers={"X-CSRF-Token": "0" * 64}, status=403)
    assert "cross-site" in anonymous.post_json("/api/write", point, status=403, headers={
        "X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"}).json["error"]
    anonymous.post_json("/api/write", point, status=403, headers={
        "X-CSRF-Token": csrf, "Origin": "https://evil.example"})
    anonymous.post_json("/api/write", point, status=201, headers={"X-CSRF-Token": csrf,
                                                                  "Sec-Fetch-Site": "same-origin"})
    # write scope only: reading is not allowed, nor are admin pages
    anonymous.get("/api/metrics", status=403)
    anonymous.get("/api/auth/tokens", status=403)
    old_cookie = anonymous.cookies["mts_session"]
    anonymous.post_json("/api/auth/logout", {}, headers={"X-CSRF-Token": csrf}, status=200)
    assert "mts_session" not in anonymous.cookies
    anonymous.set_cookie("mts_session", old_cookie)  # the session ended on the server too
    assert "session has ended" in anonymous.get("/api/auth/me", status=401).json["error"]


def test_a_user_changes_their_password(client, anonymous, name):
    user = f"p_{name}"
    client.post_json("/api/auth/users", {"username": user, "password": PASSWORD}, status=201)
    client.post_json("/api/auth/users", {"username": user, "password": PASSWORD}, status=409)
    assert client.post_json("/api/auth/users", {"username": user, "password": "short"}, status=400).json[
        "error"].startswith("password: expected 12")
    csrf = anonymous.post_json("/api/auth/login", {"username": user, "password": PASSWORD}).json["csrf_token"]
    anonymous.post_json("/api/auth/password", {"current_password": "nope", "new_password": "x" * 12},
                        headers={"X-CSRF-Token": csrf}, status=400)
    anonymous.post_json("/api/auth/password", {"current_password": PASSWORD, "new_password": "a new passphrase"},
                        headers={"X-CSRF-Token": csrf}, status=200)
    fresh = webtest.TestApp(anonymous.app)
    fresh.post_json("/api/auth/login", {"username": user, "password": PASSWORD}, status=401)
    fresh.post_json("/api/auth/login", {"username": user, "password": "a new passphrase"}, status=200)


def test_the_first_admin_signs_up_once_with_the_setup_code(db, anonymous, name):
    code = AuthStore(db).create_setup_code()
    body = {"code": code, "username": f"admin_{name}", "password": PASSWORD}
    created = anonymous.post_json("/api/auth/setup", body, status=201)
    assert created.json["scopes"] == ["admin"] and "mts_session" in created.headers["Set-Cookie"]
    assert anonymous.get("/api/auth/tokens").status_int == 200
    again = webtest.TestApp(anonymous.app).post_json("/api/auth/setup", {**body, "username": f"other_{name}"},
                                                     status=403)
    assert again.json["error"].startswith("code: not a valid setup code")


def test_per_token_rate_limit_answers_429_with_retry_after(config, db):
    limited = webtest.TestApp(create_app({**config, "token_rate_limit": 2}, db=db))
    limited.authorization = ("Bearer", config["admin_token"])
    statuses = [limited.get("/api/metrics", expect_errors=True) for _ in range(6)]
    refused = [response for response in statuses if response.status_int == 429]
    assert [r.status_int for r in statuses[:4]] == [200] * 4 and refused
    assert refused[0].headers["Retry-After"] == "1" and "token_rate_limit" in refused[0].json["error"]
    # Writes of points are not counted by it (a 429 makes Prometheus drop a batch): they have their own 503 limit.
    written = [limited.post_json("/api/write", [{"name": f"rate_{i}", "value": 1.0}], expect_errors=True)
               for i in range(6)]
    assert [response.status_int for response in written] == [201] * 6, [r.body[:200] for r in written]


def test_auth_off_is_an_explicit_switch(config, db):
    open_app = webtest.TestApp(create_app({**config, "auth": False}, db=db))
    assert open_app.get("/api/auth/me").json["kind"] == "anonymous"
    open_app.get("/api/metrics", status=200)


def test_cassandra_holds_no_raw_token_password_or_session(client, anonymous, db, name):
    made = client.post_json("/api/auth/tokens", {"name": "dumped", "scopes": ["read"]}, status=201).json["token"]
    client.post_json("/api/auth/users", {"username": f"d_{name}", "password": PASSWORD}, status=201)
    anonymous.post_json("/api/auth/login", {"username": f"d_{name}", "password": PASSWORD}, status=200)
    cookie = anonymous.cookies["mts_session"]
    session = db.session
    dump = []
    for table in ("api_tokens", "users", "sessions", "setup_codes"):
        dump += [repr(tuple(row)) for row in session.execute(f"SELECT * FROM {db.keyspace}.{table}")]
    text = "\n".join(dump)
    secret = made.rsplit("_", 1)[1]
    assert secret not in text and made not in text and PASSWORD not in text
    assert cookie.split(".")[1] not in text and "$argon2id$" in text


def test_cli_creates_a_token_that_the_api_accepts(config, anonymous, cassandra_node):
    env = {"METRICS_SERVER_CASSANDRA": config["cassandra"][0], "METRICS_SERVER_CASSANDRA_PORT":
           str(config["cassandra_port"]), "METRICS_SERVER_KEYSPACE": config["keyspace"], "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "metrics_server.auth", "token", "create", "cli test",
                             "--scope", "read", "--quiet"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    anonymous.get("/api/metrics", headers=bearer(result.stdout.strip()), status=200)
    listed = subprocess.run([sys.executable, "-m", "metrics_server.auth", "token", "list"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert "cli test" in listed.stdout and result.stdout.strip() not in listed.stdout


def test_sign_out_with_a_malformed_cookie_is_fine(client):
    client.set_cookie("mts_session", ".no-id-before-the-dot")
    assert client.post_json("/api/auth/logout", {}, status=200).json == {"message": "signed out"}


def test_a_token_creates_at_most_its_caps_of_metrics_and_series_and_a_delete_gives_them_back(config, db, name):
    capped = webtest.TestApp(create_app({**config, "max_metrics_per_token": 2, "max_series_per_token": 5}, db=db))
    capped.authorization = ("Bearer", config["admin_token"])
    token = capped.post_json("/api/auth/tokens", {"name": "agent", "scopes": ["read", "write", "delete"]},
                             status=201).json["token"]
    agent = webtest.TestApp(capped.app)
    agent.authorization = ("Bearer", token)
    series = [{"name": f"{name}_a", "labels": {"host": f"h{i}"}, "value": 1.0} for i in range(4)]
    agent.post_json("/api/write", series, status=201)
    error = agent.post_json("/api/write", [{"name": f"{name}_a", "labels": {"host": f"h{i}"}, "value": 1.0}
                                           for i in range(4, 6)], status=400).json
    assert "max_series_per_token" in error["error"] and error["field"] == "labels" and error["series"] == 4
    agent.post_json("/api/write", series, status=201)  # known series cost nothing, however often they are written
    agent.post_json("/api/metrics", {"name": f"{name}_b"}, status=201)
    error = agent.post("/write", f"{name}_c value=1 1700006400000000000".encode(), status=400).json
    assert "max_metrics_per_token" in error["error"], error
    capped.get(f"/api/metrics/{name}_c", status=404)  # nothing of the refused write was made
    agent.delete(f"/api/metrics/{name}_a", status=200)
    agent.post("/write", f"{name}_c,host=x value=1 1700006400000000000".encode(), status=204)
    assert capped.get(f"/api/metrics/{name}_c_value").json["name"] == f"{name}_c_value"
    # Another token, and the admin token, start from nothing.
    capped.post_json("/api/write", [{"name": f"{name}_d", "labels": {"host": f"h{i}"}, "value": 1.0}
                                    for i in range(9)], status=201)
