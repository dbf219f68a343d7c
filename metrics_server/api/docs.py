"""The OpenAPI document, generated from the marshmallow schemas, and Swagger UI served from local files."""
import functools

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask
from flask_swagger_ui import get_swaggerui_blueprint
from marshmallow import Schema, fields

from metrics_server import schemas
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

# (path, method, summary, request body schema, query schema, success status)
OPERATIONS = (
    ("/metrics", "get", "List metrics (optional search=substring)", None, None, "200"),
    ("/metrics", "post", "Create a metric", "Metric", None, "201"),
    ("/metrics/{name}", "get", "Read a metric's definition", None, None, "200"),
    ("/metrics/{name}", "delete", "Delete a metric with all its points", None, None, "200"),
    ("/metrics/{name}/data", "post", "Insert one point or a list of points", "Point", None, "201"),
    ("/metrics/{name}/data", "get", "Raw points; other parameters filter labels (host=a, repeat for OR)",
     None, schemas.DataQuerySchema, "200"),
    ("/metrics/{name}/series", "get", "The label sets of a metric", None, None, "200"),
    ("/metrics/{name}/states", "get", "Enum: time and count per state", None, schemas.StatesSchema, "200"),
    ("/metrics/{name}/heatmap", "get", "Histogram: bucket counts per bin and percentiles", None,
     schemas.HeatmapSchema, "200"),
    ("/write", "post", "A batch across metrics, all or nothing: points, or series items", "WriteItem", None, "201"),
    ("/query", "get", "Several metrics binned on one time axis (chart: width, table: granularity)", None,
     schemas.QuerySchema, "200"),
    ("/health", "get", "Liveness and Cassandra reachability (503 when unreachable)", None, None, "200"),
)


@functools.cache
def build_spec() -> dict:
    """The OpenAPI 3 document for every operation above."""
    spec = APISpec(title="metrics_server", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()], servers=[{"url": "/api"}])
    for name, schema in (("Error", ErrorSchema), ("Success", SuccessSchema), ("Metric", schemas.MetricSchema),
                         ("Point", schemas.PointSchema), ("WriteItem", schemas.WriteItemSchema),
                         ("SeriesItem", schemas.SeriesItemSchema)):
        spec.components.schema(name, schema=schema)
    paths: dict[str, dict] = {}
    for path, method, summary, body, query, status in OPERATIONS:
        operation = {"summary": summary, "responses": {status: {"description": "OK", "content": {
            "application/json": {"schema": "Success" if status == "201" else {}}}}, **ERRORS}}
        if "{name}" in path:
            operation["parameters"] = [{"in": "path", "name": "name", "required": True, "schema": {"type": "string"}}]
        if query is not None:
            operation.setdefault("parameters", []).append({"in": "query", "schema": query})
        if body is not None:
            schema = {"oneOf": [body, {"type": "array", "items": body}]} if body != "Metric" else body
            if body == "WriteItem":
                schema = {"oneOf": [{"type": "array", "items": body}, {"type": "array", "items": "SeriesItem"}]}
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
        paths.setdefault(path, {})[method] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


@blueprint.get("/openapi.json")
def openapi():
    return json_response(build_spec())


def init_app(app: Flask) -> None:
    """Serve /api/openapi.json and Swagger UI at /api/docs (its assets ship in the Python package: no CDN)."""
    app.register_blueprint(blueprint, url_prefix="/api")
    app.register_blueprint(get_swaggerui_blueprint("/api/docs", "/api/openapi.json",
                                                   config={"app_name": "metrics_server API"}))
