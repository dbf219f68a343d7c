"""Query strings through marshmallow: list fields take every repeated value, the rest their first."""
from flask import request
from marshmallow import Schema, fields

from metrics_server.errors import ApiError
from metrics_server.query.bins import Bins, make_bins


def load_args(schema: Schema) -> dict:
    """Validate request.args with a schema (a 400 names the parameter and why)."""
    args = request.args
    raw = {key: args.getlist(key) if isinstance(schema.fields.get(key), fields.List) else args.get(key)
           for key in args}
    return schema.load(raw)


def label_filters(reserved: set[str]) -> dict[str, list[str]]:
    """Every parameter that is not one of the endpoint's own is a label filter; repeats mean OR."""
    return {key: request.args.getlist(key) for key in request.args if key not in reserved}


def bins_for(args: dict) -> Bins:
    """The bins a request asks for: `width` (chart mode), `granularity`, or automatic."""
    try:
        return make_bins(args["start"], args["end"], granularity=args["granularity"] or (
            None if args["width"] else "auto"), width=args["width"], tz=args["tz"])
    except ValueError as error:
        raise ApiError(f"range: {error}", 400) from None
