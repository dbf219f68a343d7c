"""The hardening probes of issue 10 as regression tests against the real app on the real Cassandra: header
values built from client input, CSV cells a spreadsheet would run, security headers on every answer."""
import csv
import gzip
import io
import time
from urllib.parse import parse_qs, unquote, urlsplit

import orjson
import pytest
import webtest

DAY0 = 1_700_006_400_000


def test_link_header_is_percent_encoded_whatever_the_labels_hold(client, name):
    hostile = ['x>; rel="prev", <https://evil.example/', "x&cursor=zzz", "東京"]
    client.post_json("/api/metrics", {"name": name, "label_keys": ["host"]}, status=201)
    client.post_json("/api/write", [{"name": name, "labels": {"host": host}, "value": i, "timestamp": DAY0 + i}
                                    for i, host in enumerate(hostile * 2)], status=201)
    for host in hostile:
        started = time.perf_counter()
        # a CR LF cannot be stored (see below), but a filter value asking for it lands in the Link too
        response = client.get(f"/api/metrics/{name}/data", {"host": [host, "line\r\nSet-Cookie: a=b"], "limit": 1})
        assert time.perf_counter() - started < 5
        link = response.headers["Link"]
        assert link.isascii() and link.count("<") == 1 and link.count(">") == 1 and "\r" not in link
        target = urlsplit(link[1:link.index(">")])
        query = parse_qs(target.query)
        assert query["host"] == [host, "line\r\nSet-Cookie: a=b"]
        assert query["cursor"] == [response.headers["X-Next-Cursor"]]
        assert [p["labels"]["host"] for p in client.get(unquote(target.path), query).json] == [host]


def test_control_characters_are_refused_in_labels_units_and_states(client, name):
    for body, field in (([{"name": name, "labels": {"host": "a\x00b"}, "value": 1}], "0.labels.host.value"),
                        ([{"name": name, "labels": {"host": "a\r\nb"}, "value": 1}], "0.labels.host.value")):
        assert client.post_json("/api/write", body, status=400).json["error"].startswith(
            f"{field}: control characters"), body
    assert client.post_json("/api/metrics", {"name": name, "unit": "m\x00s"}, status=400).json[
        "error"].startswith("unit: control characters")
    client.post_json("/api/metrics", {"name": name, "type": "enum"}, status=201)
    assert client.post_json(f"/api/metrics/{name}/data", {"state": "up\x1b[31m"}, status=400).json[
        "error"].startswith("state: control characters")


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00Z", "9999-12-31T00:00:00Z", -1000, "2200-01-01T00:00:00Z"])
def test_points_outside_what_reads_cover_are_refused(client, name, stamp):
    error = client.post_json("/api/write", [{"name": name, "value": 1, "timestamp": stamp}], status=400).json["error"]
    assert error.startswith("0.timestamp: expected a time from 1970-01-01T00:00:00Z up to 2200-01-01"), error


def test_the_last_and_first_covered_instants_are_stored_and_read_by_default(client, name):
    edges = ["1970-01-01T00:00:00Z", "2199-12-31T23:59:59.999Z"]
    client.post_json("/api/write", [{"name": name, "value": i, "timestamp": t} for i, t in enumerate(edges)],
                     status=201)
    assert [p["timestamp"] for p in client.get(f"/api/metrics/{name}/data").json] == edges


def test_gzip_bodies_are_unpacked_within_the_body_limit(client, name, config):
    body = orjson.dumps([{"name": name, "value": 1.5, "timestamp": DAY0}])
    client.post("/api/write", gzip.compress(body), headers={"Content-Type": "application/json",
                                                             "Content-Encoding": "gzip"}, status=201)
    assert client.get(f"/api/metrics/{name}/data").json[0]["value"] == 1.5
    bomb = gzip.compress(b"[" + b" " * config["max_body_bytes"] + b"]")  # 32 MiB of spaces, 32 kB packed
    started = time.perf_counter()
    refused = client.post("/api/write", bomb, headers={"Content-Type": "application/json",
                                                       "Content-Encoding": "gzip"}, status=413)
    assert "max_body_bytes" in refused.json["error"] and time.perf_counter() - started < 5
    assert "not gzip" in client.post("/api/write", b"[]", headers={
        "Content-Type": "application/json", "Content-Encoding": "gzip"}, status=400).json["error"]
    assert client.post("/api/write", body, headers={"Content-Type": "application/json", "Content-Encoding": "br"},
                       status=415).json["error"].startswith("Content-Encoding: expected identity or gzip")


def test_in_flight_comes_back_to_zero_after_streamed_csv(client, name):
    client.post_json("/api/write", [{"name": name, "value": i, "timestamp": DAY0 + i} for i in range(10)],
                     status=201)
    for _ in range(3):
        assert len(client.get(f"/api/metrics/{name}/data", {"format": "csv"}).text.split("\n")) == 12
    text = client.get("/metrics").text
    assert 'metrics_server_http_requests_in_flight{method="GET"} 1.0' in text  # the scrape itself


def test_csv_cells_that_would_be_formulas_are_neutralised_and_every_field_is_quoted(client, name):
    # (a leading TAB or CR cannot be stored at all: control characters are refused, see below)
    formulas = ["=HYPERLINK(\"http://evil.example\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "=1,\"x\""]
    client.post_json("/api/metrics", {"name": name, "label_keys": ["host"]}, status=201)
    client.post_json("/api/write", [{"name": name, "labels": {"host": host}, "value": -1.5, "timestamp": DAY0 + i}
                                    for i, host in enumerate(formulas)], status=201)
    for path, params in ((f"/api/metrics/{name}/data", {"format": "csv"}),
                         ("/api/query", {"metric": name, "start": DAY0, "end": DAY0 + 60_000, "format": "csv",
                                         "granularity": "minute"})):
        response = client.get(path, params)
        text = response.text
        assert all(line.startswith('"') and line.endswith('"') for line in text.split("\n") if line)
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        assert sorted(row["host"] for row in rows) == sorted("'" + host for host in formulas)
        assert {row["value"] for row in rows} == {"-1.5"}  # numbers stay numbers
        assert response.headers["Content-Disposition"].startswith("attachment; filename=")


def test_every_answer_carries_the_security_headers_errors_included(client, name):
    for response in (client.get("/api/health"), client.get("/api/metrics"),
                     client.get(f"/api/metrics/{name}", status=404), client.get("/api/nothing", status=404),
                     client.post("/api/write", "x", status=415), client.get("/api/openapi.json")):
        assert response.headers["Content-Security-Policy"].startswith("default-src 'none'"), response.request.path
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in response.headers[
            "Content-Security-Policy"]
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_docs_redirect_is_relative_and_ignores_forwarded_host(client):
    response = client.get("/api/docs", headers={"X-Forwarded-Host": "evil.example", "Host": "evil.example"},
                          status=308)
    assert response.headers["Location"] == "/api/docs/"
    page = client.get("/api/docs/", headers={"X-Forwarded-Host": "evil.example"}).text
    assert "evil.example" not in page


def test_a_password_change_ends_the_users_other_sessions_and_keeps_this_one(client, name):
    user, password = f"pw_{name}", "correct horse battery staple"
    client.post_json("/api/auth/users", {"username": user, "password": password}, status=201)
    here, elsewhere = webtest.TestApp(client.app), webtest.TestApp(client.app)
    csrf = here.post_json("/api/auth/login", {"username": user, "password": password}).json["csrf_token"]
    elsewhere.post_json("/api/auth/login", {"username": user, "password": password})
    elsewhere.get("/api/auth/me", status=200)
    changed = here.post_json("/api/auth/password", {"current_password": password, "new_password": "another pass"},
                             headers={"X-CSRF-Token": csrf}, status=200).json
    assert changed["username"] == user and changed["csrf_token"] != csrf
    assert "session has ended" in elsewhere.get("/api/auth/me", status=401).json["error"]
    assert here.get("/api/auth/me").json["csrf_token"] == changed["csrf_token"]


def test_a_truncated_gzip_body_is_refused_and_nothing_of_it_is_stored(client, name):
    packed = gzip.compress(f"{name} value=189371972 1700006400000000000\n".encode())
    for cut in (len(packed) - 8, len(packed) - 4, len(packed) // 2 + 5):  # in the CRC, the length, the data
        error = client.post("/write", packed[:cut], headers={"Content-Encoding": "gzip"}, status=400).json["error"]
        assert "gzip" in error, (cut, error)
    client.get(f"/api/metrics/{name}_value", status=404)
    two_members = packed + gzip.compress(f"{name} value=2 1700006460000000000\n".encode())
    client.post("/write", two_members, headers={"Content-Encoding": "gzip"}, status=204)
    assert [p["value"] for p in client.get(f"/api/metrics/{name}_value/data").json] == [189371972, 2]
    client.delete(f"/api/metrics/{name}_value")


def test_influx_lines_past_max_batch_points_are_refused_while_parsing(client, name, config):
    lines = "".join(f"{name},host=h{i % 10} value={i} 1700006400000000000\n" for i in range(300_000)).encode()
    started = time.perf_counter()
    error = client.post("/write", gzip.compress(lines), headers={"Content-Encoding": "gzip"}, status=400).json
    took = time.perf_counter() - started
    print(f"300,000 lines, gzip {len(gzip.compress(lines))} bytes: refused in {took:.2f} s")
    assert f"at most {config['max_batch_points']} samples" in error["error"] and took < 30, (took, error)
    client.get(f"/api/metrics/{name}_value", status=404)


def test_one_write_creates_at_most_max_new_metrics_per_request(client, name, config):
    most = config["max_new_metrics_per_request"]
    items = [{"name": f"{name}_{i}", "value": 1.0, "timestamp": DAY0} for i in range(most + 1)]
    error = client.post_json("/api/write", items, status=400).json
    assert "max_new_metrics_per_request" in error["error"] and error["new_metrics"] == most + 1
    fields = ",".join(f"f{i}=1" for i in range(most + 1))
    assert "max_new_metrics_per_request" in client.post("/write", f"{name} {fields} 1700006400000000000".encode(),
                                                        status=400).json["error"]
    assert not client.get("/api/metrics", {"search": name}).json  # nothing of either was created


def test_a_selector_across_many_names_pays_for_each_names_index_in_the_read_budget(config, db, client, name):
    from metrics_server.app import create_app

    client.post_json("/api/write", [{"name": f"{name}_{i}", "value": 1.0} for i in range(8)], status=201)
    strict = webtest.TestApp(create_app({**config, "max_query_reads": 100}, db=db))
    strict.authorization = ("Bearer", config["admin_token"])
    body = strict.get("/api/v1/query", {"query": f'{{__name__=~"{name}_.*"}}'}, status=422).json
    assert "max_query_reads" in body["error"]  # 8 names x 16 index partitions each, before any point is read
    assert len(strict.get("/api/v1/query", {"query": f"{name}_1"}).json["data"]["result"]) == 1
    # A label no one of them has reads as "": `type="free"` passes over them with no index read at all.
    found = strict.get("/api/v1/query", {"query": f'{{__name__=~"{name}_.*", type="free"}}'}).json["data"]
    assert found["result"] == []
    assert len(strict.get("/api/v1/query", {"query": f'{{__name__=~"{name}_[12]", type=""}}'}).json["data"][
        "result"]) == 2
    for i in range(8):
        client.delete(f"/api/metrics/{name}_{i}")
