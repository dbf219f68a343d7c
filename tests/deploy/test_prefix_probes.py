"""Issue 21's probes that need nginx in front of the instances: a token in an Influx 1.x query string never
reaches the access log, and a NUL in the URL answers the API's JSON 400 (it was nginx's HTML 500)."""
import uuid

import requests


def test_an_influx_token_in_the_query_string_is_not_written_to_the_access_log(live_stack, auth_headers):
    token = auth_headers["Authorization"].split()[1]
    name = f"t_{uuid.uuid4().hex[:10]}"
    for key in ("p", "%70"):
        answer = requests.post(f"{live_stack.url}/write?db=probe&u=agent&{key}={token}",
                               data=f"{name} v=1".encode(), timeout=30)
        assert answer.status_code == 204, answer.text
    log = (live_stack.log_dir / "nginx-access.log").read_text()
    assert token not in log and "/write?db=probe&u=agent&p=redacted HTTP/1.1" in log
    requests.delete(f"{live_stack.url}/api/metrics/{name}_v", headers=auth_headers, timeout=30)


def test_a_nul_in_the_url_is_a_json_400(live_stack, auth_headers):
    for path in ("/api/metrics/a%00b", "/a%00b", "/api/health%00"):
        answer = requests.get(f"{live_stack.url}{path}", headers=auth_headers, timeout=30)
        assert answer.status_code == 400 and answer.headers["Content-Type"] == "application/json", (path, answer)
        assert answer.json() == {"error": "malformed HTTP request"}
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
