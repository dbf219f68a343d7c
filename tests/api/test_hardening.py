"""The hardening probes of issue 10 as regression tests against the real app on the real Cassandra: header
values built from client input, CSV cells a spreadsheet would run, security headers on every answer."""
import csv
import io
from urllib.parse import parse_qs, unquote, urlsplit

DAY0 = 1_700_006_400_000


def test_link_header_is_percent_encoded_whatever_the_labels_hold(client, name):
    hostile = ['x>; rel="prev", <https://evil.example/', "x&cursor=zzz", "line\r\nSet-Cookie: a=b", "東京"]
    client.post_json("/api/metrics", {"name": name, "label_keys": ["host"]}, status=201)
    client.post_json("/api/write", [{"name": name, "labels": {"host": host}, "value": i, "timestamp": DAY0 + i}
                                    for i, host in enumerate(hostile * 2)], status=201)
    for host in hostile:
        response = client.get(f"/api/metrics/{name}/data", {"host": host, "limit": 1})
        link = response.headers["Link"]
        assert link.isascii() and link.count("<") == 1 and link.count(">") == 1 and "\r" not in link
        target = urlsplit(link[1:link.index(">")])
        query = parse_qs(target.query)
        assert query["host"] == [host] and query["cursor"] == [response.headers["X-Next-Cursor"]]
        assert [p["labels"]["host"] for p in client.get(unquote(target.path), query).json] == [host]


def test_csv_cells_that_would_be_formulas_are_neutralised_and_every_field_is_quoted(client, name):
    formulas = ["=HYPERLINK(\"http://evil.example\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rsplit"]
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
