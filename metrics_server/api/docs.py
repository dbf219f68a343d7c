"""The OpenAPI document, generated from the marshmallow schemas, and Swagger UI served from local files."""
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app, redirect
from flask_swagger_ui import get_swaggerui_blueprint
from marshmallow import INCLUDE, Schema, fields

from metrics_server import schemas
from metrics_server.auth import policy
from metrics_server.auth import schemas as auth_schemas
from metrics_server.auth.guard import SESSION_COOKIE
from metrics_server.jsonio import json_response

blueprint = Blueprint("docs", __name__)


class ErrorSchema(Schema):
    """Every error response: the message, and for a bad request body where it is (other details may follow)."""

    class Meta:
        unknown = INCLUDE

    error = fields.String(required=True, metadata={"description": "what went wrong, naming the field"})
    field = fields.String(allow_none=True, metadata={"description": "the field at fault"})
    index = fields.Integer(allow_none=True, metadata={"description": "the item at fault, in a batch"})
    fields = fields.Dict(metadata={"description": "every problem found, by field"})


class SuccessSchema(Schema):
    """Every successful write."""

    message = fields.String(metadata={"example": "Success"})
    id = fields.Raw(metadata={"description": "the metric id, the point id, or the number of points written"})


def error(text: str, headers: tuple[str, ...] = ()) -> dict:
    response = {"description": text, "content": {"application/json": {"schema": "Error"}}}
    if headers:
        response["headers"] = {name: {"schema": {"type": "string" if name != "Retry-After" else "integer"}}
                               for name in headers}
    return response


ERRORS = {status: error(text) for status, text in {
    "400": "invalid request: the message names the field", "404": "no such metric", "409": "the metric exists",
    "413": "body over max_body_bytes", "415": "body is not JSON", "503": "Cassandra unavailable: nothing was stored",
}.items()}
GUARDED = {"401": error("no credentials, or bad, expired or revoked ones", ("WWW-Authenticate",)),
           "403": error("the credentials lack the scope or metric prefix this needs, or a CSRF check failed"),
           "429": error("too many requests for this token", ("Retry-After",))}
# How clients authenticate (metrics_server/auth/guard.py); an operation that needs nothing says `security: []`.
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer mts_<id>_<secret>"},
    "token": {"type": "apiKey", "in": "header", "name": "Authorization",
              "description": "Authorization: Token mts_... (InfluxDB 2.x clients)"},
    "basic": {"type": "http", "scheme": "basic", "description": "any user name, the token as the password"},
    "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE,
                "description": "the dashboard's session after POST /auth/login; changes also need X-CSRF-Token"},
}

COMPONENTS = (("Error", ErrorSchema), ("Success", SuccessSchema), ("Metric", schemas.MetricSchema),
              ("Point", schemas.PointSchema), ("WriteItem", schemas.WriteItemSchema),
              ("SeriesItem", schemas.SeriesItemSchema), ("Dashboard", schemas.DashboardSchema),
              ("Restore", schemas.RestoreSchema),
              ("Login", auth_schemas.LoginSchema), ("Setup", auth_schemas.SetupSchema),
              ("Password", auth_schemas.PasswordSchema), ("User", auth_schemas.UserSchema),
              ("Token", auth_schemas.TokenSchema), ("UserInfo", auth_schemas.UserInfoSchema),
              ("TokenInfo", auth_schemas.TokenInfoSchema), ("SignedIn", auth_schemas.SignedInSchema))
# One object, never a list.
OBJECT_BODIES = {"Metric", "Dashboard", "Restore", "Login", "Setup", "Password", "User", "Token"}
ANY_OBJECT = "object"  # a body or answer no component describes (a rule group): any JSON object
PATH_PARAMETER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def request_body(body: str) -> dict:
    """A body component as JSON: a metric alone, points one or many, write items as either kind of list."""
    if body == ANY_OBJECT:
        schema = {"type": "object"}
    elif body in OBJECT_BODIES:
        schema = body
    elif body == "WriteItem":
        schema = {"oneOf": [{"type": "array", "items": body}, {"type": "array", "items": "SeriesItem"}]}
    else:
        schema = {"oneOf": [body, {"type": "array", "items": body}]}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def operation_of(rule, method: str, doc: dict) -> dict:
    """One route's OpenAPI operation from what its view declared with @documented, and what it needs to pass
    the guard (policy.py)."""
    answer = doc.get("answer") or ("Success" if doc["status"] == "201" else {})
    content = {"application/json": {"schema": {"type": "object"} if answer == ANY_OBJECT else answer}}
    if doc["csv"]:
        content["text/csv"] = {"schema": {"type": "string"}}
    success = {"description": "OK", "content": content} if doc["status"] != "204" else {"description": "done"}
    operation = {"summary": doc["summary"], "responses": {doc["status"]: success, **ERRORS}}
    if method == "PUT":  # creates (201) or replaces (200)
        operation["responses"].update({"200": success, "201": success})
    if policy.required_scope(method, rule.rule) == policy.PUBLIC:
        operation["security"] = []
    if policy.required_scope(method, rule.rule) != policy.PUBLIC or rule.rule.startswith("/api/auth/"):
        operation["responses"].update(GUARDED)  # sign-in and setup answer 401/403 too, and nginx limits them
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
    for name, scheme in SECURITY_SCHEMES.items():
        spec.components.security_scheme(name, scheme)
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        doc = getattr(app.view_functions[rule.endpoint], "openapi", None)
        if doc is None or not rule.rule.startswith("/api/"):
            continue
        path = PATH_PARAMETER.sub(r"{\1}", rule.rule.removeprefix("/api"))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = operation_of(rule, method, doc)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    document = spec.to_dict()
    document["security"] = [{name: []} for name in SECURITY_SCHEMES]
    return document


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
