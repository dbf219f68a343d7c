"""The series index of one metric: its label sets (paged, so 200,000 series cost a page each) and the values of
one label key, for filter drop-downs."""
import base64

from flask import Blueprint
from marshmallow import Schema, fields, validate

from metrics_server.api.lookup import find_metric, registry
from metrics_server.api.openapi import documented
from metrics_server.api.params import load_args
from metrics_server.errors import ApiError, NotFound
from metrics_server.jsonio import json_response

blueprint = Blueprint("series", __name__)


class SeriesPageSchema(Schema):
    """GET /api/metrics/<name>/series: a page of label sets."""

    limit = fields.Integer(load_default=10_000, validate=validate.Range(1, 100_000))
    cursor = fields.String(load_default=None)


page_schema = SeriesPageSchema()


def encode_cursor(after: tuple[int, str]) -> str:
    return base64.urlsafe_b64encode(f"{after[0]}:{after[1]}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        shard, sid = base64.urlsafe_b64decode(cursor.encode()).decode().split(":", 1)
        return int(shard), sid
    except ValueError:
        raise ApiError("cursor: not a cursor this API returned", 400, field="cursor") from None


@blueprint.get("/metrics/<name>/series")
@documented("The label sets of a metric, `limit` per page (next page: X-Next-Cursor)", query=SeriesPageSchema)
def series(name: str):
    """Label sets, sorted when one page holds them all; else in index order, the next page's cursor in
    X-Next-Cursor."""
    metric = find_metric(name)
    args = load_args(page_schema)
    after = decode_cursor(args["cursor"]) if args["cursor"] else None
    found, following = registry().page(metric, args["limit"], after)
    if after is None and following is None:
        found.sort(key=lambda item: sorted(item[1].items()))
    headers = {"X-Next-Cursor": encode_cursor(following)} if following else {}
    return json_response([labels for _, labels in found], headers=headers)


@blueprint.get("/metrics/<name>/labels/<key>/values")
@documented("The values a label key takes in a metric, sorted")
def label_values(name: str, key: str):
    """Every value of one label key (a few small index reads, whatever the metric's cardinality)."""
    metric = find_metric(name)
    if key not in metric.label_keys:
        raise NotFound(f"'{key}' is not a label of metric '{name}' (labels: {list(metric.label_keys)})")
    return json_response(registry().label_values(metric, key))
