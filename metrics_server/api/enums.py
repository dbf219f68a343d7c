"""Enum metrics: how long and how often each state held over a range, for a pie."""
import numpy as np
from flask import Blueprint

from metrics_server.api.lookup import find_metric, gateway, matching_series
from metrics_server.api.openapi import documented
from metrics_server.api.params import label_filters, load_args
from metrics_server.errors import ApiError
from metrics_server.jsonio import json_response
from metrics_server.query.enum import state_shares
from metrics_server.schemas import StatesSchema

blueprint = Blueprint("enums", __name__)
states_schema = StatesSchema()


@blueprint.get("/metrics/<name>/states")
@documented("Enum: time and count per state", query=StatesSchema)
def states(name: str):
    """Per state: reports, seconds held and share of the range (the state in force at `start` counts too)."""
    metric = find_metric(name, "enum")
    args = load_args(states_schema)
    start, end = args["start"], args["end"]
    if start >= end:
        raise ApiError("start: must be before end", 400)
    series = matching_series(metric, label_filters(set(states_schema.fields)))
    data = gateway().in_order(metric, [sid for sid, _ in series], start - metric.partition_ms, end)
    totals: dict[str, dict] = {}
    for points in data.values():
        before = np.searchsorted(points.ts, start, side="left")
        first = max(before - 1, 0)
        shares = state_shares(points.ts[first:], np.array(points.state[first:], dtype=object), start, end)
        for share in shares:
            total = totals.setdefault(share["state"], {"state": share["state"], "count": 0, "seconds": 0.0})
            total["count"] += share["count"]
            total["seconds"] += share["seconds"]
    seconds = sum(total["seconds"] for total in totals.values())
    rows = sorted(totals.values(), key=lambda total: -total["seconds"])
    for row in rows:
        row["share"] = row["seconds"] / seconds if seconds else None
    return json_response({"metric": name, "start": start, "end": end, "states": rows})
