"""The OpenAPI document is generated from the routes: every /api route is in it, and nothing else is."""
from metrics_server.api.docs import PATH_PARAMETER, build_spec
from metrics_server.app import create_app
from metrics_server.config import load_config

SELF_DESCRIBING = {"/api/openapi.json", "/api/docs", "/api/docs/", "/api/docs/<path:path>"}


def test_every_api_route_is_documented_with_its_methods():
    app = create_app(load_config(environ={}))  # Cassandra is connected on first use: none is needed here
    paths = build_spec(app)["paths"]
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule in SELF_DESCRIBING:
            continue
        path = PATH_PARAMETER.sub(r"{\1}", rule.rule.removeprefix("/api"))
        assert path in paths, f"{rule.rule} is routed but not in the OpenAPI document (add @documented)"
        assert {method.lower() for method in rule.methods - {"HEAD", "OPTIONS"}} <= set(paths[path])


def test_csv_answers_are_documented_where_format_csv_is_accepted():
    paths = build_spec(create_app(load_config(environ={})))["paths"]
    assert "text/csv" in paths["/query"]["get"]["responses"]["200"]["content"]
    assert "text/csv" not in paths["/metrics"]["get"]["responses"]["200"]["content"]
