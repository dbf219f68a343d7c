"""The OpenAPI document, generated from the marshmallow schemas, and Swagger UI served from local files."""
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app, redirect
from flask_swagger_ui import get_swaggerui_blueprint
from marshmallow import Schema, fields

from metrics_server import schemas
from metrics_server.auth import schemas as auth_schemas
from metrics_server.jsonio import json_response

blueprint = Blueprint("docs", __name__)


class ErrorSchema(Schema):
    """Every error response."""

    error = fields.String(required=True, metadata={"description": "what went wrong, naming the field"})


class SuccessSchema(Schema):
    """Every successful write."""

    message = fields.String(metadata={"example": "Success"})
    id = fields.Raw(metadata={"description": "the metric id, the point id, or the number of points written"})


ERRORS = {status: {"description": text, "content": {"application/json": {"schema": "Error"}}}
          for status, text in {"400": "invalid request: the message names the field", "404": "no such metric",
                               "409": "the metric exists", "413": "body over max_body_bytes",
                               "415": "body is not JSON", "503": "Cassandra unavailable: nothing was stored"}.items()}

COMPONENTS = (("Error", ErrorSchema), ("Success", SuccessSchema), ("Metric", schemas.MetricSchema),
              ("Point", schemas.PointSchema), ("WriteItem", schemas.WriteItemSchema),
              ("SeriesItem", schemas.SeriesItemSchema), ("Dashboard", schemas.DashboardSchema),
              ("Login", auth_schemas.LoginSchema), ("Setup", auth_schemas.SetupSchema),
              ("Password", auth_schemas.PasswordSchema), ("User", auth_schemas.UserSchema),
              ("Token", auth_schemas.TokenSchema))
OBJECT_BODIES = {"Metric", "Dashboard", "Login", "Setup", "Password", "User", "Token"}  # one object, never a list
PATH_PARAMETER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def request_body(body: str) -> dict:
    """A body component as JSON: a metric alone, points one or many, write items as either kind of list."""
    if body in OBJECT_BODIES:
        schema = body
    elif body == "WriteItem":
        schema = {"oneOf": [{"type": "array", "items": body}, {"type": "array", "items": "SeriesItem"}]}
    else:
        schema = {"oneOf": [body, {"type": "array", "items": body}]}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def operation_of(rule, doc: dict) -> dict:
    """One route's OpenAPI operation from what its view declared with @documented."""
    content = {"application/json": {"schema": "Success" if doc["status"] == "201" else {}}}
    if doc["csv"]:
        content["text/csv"] = {"schema": {"type": "string"}}
    operation = {"summary": doc["summary"], "responses": {doc["status"]: {"description": "OK", "content": content},
                                                          **ERRORS}}
    parameters = [{"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
                  for name in rule.arguments]
    if doc["query"] is not None:
        parameters.append({"in": "query", "schema": doc["query"]})
    if parameters:
        operation["parameters"] = parameters
    if doc["body"] is not None:
        operation["requestBody"] = request_body(doc["body"])
    return operation


def build_spec(app: Flask) -> dict:
    """The OpenAPI 3 document of every /api route whose view is @documented, read from the url_map."""
    spec = APISpec(title="metrics_server", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()], servers=[{"url": "/api"}])
    for name, schema in COMPONENTS:
        spec.components.schema(name, schema=schema)
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        doc = getattr(app.view_functions[rule.endpoint], "openapi", None)
        if doc is None or not rule.rule.startswith("/api/"):
            continue
        path = PATH_PARAMETER.sub(r"{\1}", rule.rule.removeprefix("/api"))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = operation_of(rule, doc)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


@blueprint.get("/openapi.json")
def openapi():
    spec = current_app.extensions.get("openapi")
    if spec is None:
        spec = current_app.extensions["openapi"] = build_spec(current_app)
    return json_response(spec)


def init_app(app: Flask) -> None:
    """Serve /api/openapi.json and Swagger UI at /api/docs (its assets ship in the Python package: no CDN)."""
    app.register_blueprint(blueprint, url_prefix="/api")
    # Relative URLs only: nothing in the page or a redirect is built from the client's Host header.
    app.register_blueprint(get_swaggerui_blueprint("/api/docs", "/api/openapi.json", config={
        "app_name": "metrics_server API", "oauth2RedirectUrl": "/api/docs/oauth2-redirect.html"}))
    app.add_url_rule("/api/docs", "docs_slash", lambda: redirect("/api/docs/", 308))
