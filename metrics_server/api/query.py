"""GET /api/query: several metrics binned on one time axis, for a chart (width → M4) or a table (granularity)."""
import io

from flask import Blueprint, Response

from metrics_server.api import csvio
from metrics_server.api.lookup import find_metric, gateway, matching_series
from metrics_server.api.openapi import documented
from metrics_server.api.params import bins_for, load_args
from metrics_server.auth import check_metrics
from metrics_server.errors import ApiError
from metrics_server.jsonio import json_response
from metrics_server.query.bins import Bins
from metrics_server.query.engine import Result, plan, run_plans
from metrics_server.query.selectors import parse_selector
from metrics_server.query.timeparse import format_iso_array
from metrics_server.schemas import QuerySchema

blueprint = Blueprint("query", __name__)
query_schema = QuerySchema()


def run_query(args: dict) -> tuple[Bins, list[Result]]:
    """Every selector's series planned, the whole query's cost checked, then read and binned."""
    bins = bins_for(args)
    plans = []
    for index, text in enumerate(args["metric"]):
        try:
            name, filters = parse_selector(text)
        except ValueError as error:
            raise ApiError(f"metric.{index}: {error}", 400, field="metric") from None
        check_metrics([name])  # a token limited to metric prefixes
        metric = find_metric(name)
        plans.append(plan(gateway(), metric, matching_series(metric, filters), bins, args["agg"], args["group_by"],
                          chart=args["width"] is not None, across=args["across"]))
    return bins, run_plans(gateway(), plans)


@blueprint.get("/query")
@documented("Several metrics binned on one time axis (chart: width, table: granularity)", query=QuerySchema, csv=True)
def query():
    """Binned series: every bin present, a gap as null; chart mode adds min/max/first/last per bin."""
    args = load_args(query_schema)
    bins, results = run_query(args)
    starts = bins.starts.tolist()
    if args["format"] == "csv":
        return csv_response(bins, results)
    return json_response({
        "start": int(bins.edges[0]), "end": int(bins.edges[-1]), "step": bins.step_ms, "bins": bins.name,
        "agg": args["agg"], "series": [result.to_json(starts) for result in results],
    })


def csv_response(bins: Bins, results: list[Result]) -> Response:
    """The same data as CSV: timestamp, metric, one column per label key, value (empty for a gap)."""
    keys = sorted({key for result in results for key in result.labels})
    stamps = format_iso_array(bins.starts)
    buffer = io.StringIO()
    writer = csvio.writer(buffer)
    writer.writerow(csvio.neutral_column(["timestamp", "metric", *keys, "value"]))
    for result in results:
        text = csvio.neutral_column([result.metric.name, *(result.labels.get(key, "") for key in keys)])
        for stamp, value in zip(stamps, result.values.tolist()):
            writer.writerow([stamp, *text, "" if value != value else repr(value)])
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": csvio.attachment("query.csv")})
