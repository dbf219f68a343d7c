"""Points of one metric: insert one or many, read raw points (JSON pages or CSV), list label sets."""
import base64
import io
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import numpy as np
from flask import Blueprint, Response, current_app, request, stream_with_context

from metrics_server.api import csvio
from metrics_server.api.admission import charge
from metrics_server.api.body import json_body
from metrics_server.api.lookup import (
    find_metric,
    gateway,
    matching_series,
    quota,
    registry,
    rollups,
    server_config,
    store,
)
from metrics_server.api.openapi import documented
from metrics_server.api.params import label_filters, load_args
from metrics_server.auth import check_metrics
from metrics_server.errors import ApiError
from metrics_server.ingest.columns import load_batch
from metrics_server.ingest.rules import admit, check_buckets, points_of, record, save, write_batch
from metrics_server.jsonio import json_response
from metrics_server.model import EXTRA_COLUMN, POINT_END_MS, POINT_MIN_MS, Metric
from metrics_server.query.histogram import bound_text
from metrics_server.query.timeparse import format_iso_array
from metrics_server.schemas import DataQuerySchema, PointSchema, WriteItemSchema
from metrics_server.storage.points import SeriesPoints

blueprint = Blueprint("data", __name__)
point_schema = PointSchema()
points_schema = PointSchema(many=True)
write_schema = WriteItemSchema(many=True)
query_schema = DataQuerySchema()
CSV_CHUNK = 5000


def count_ingested(count: int) -> None:
    current_app.extensions["selfmetrics"].points.inc(count)
    charge(count)


@blueprint.post("/metrics/<name>/data")
@documented("Insert one point or a list of points", body="Point", status="201")
def insert_data(name: str):
    """One point (answers its id) or a list of points (answers how many were written)."""
    metric = find_metric(name)
    body = json_body()
    many = isinstance(body, list)
    if many and not body:
        raise ApiError("expected at least one point", 400)
    batch = load_batch(body, points_schema if many else point_schema)
    labels, points = points_of(metric, batch, np.arange(len(batch)), indexed=many)
    check_buckets(batch, server_config(), indexed=many)
    charged_to = quota()
    made = admit(registry(), [(metric, labels, points)], server_config(), charged_to)
    save(store(), rollups(), [(metric, labels, points)])
    record(charged_to, [(metric, labels, points)], made)
    count_ingested(len(points))
    ident = len(points) if many else f"{points.series[0]}@{points.ts[0]}"
    return json_response({"message": "Success", "id": ident}, 201)


@blueprint.post("/write")
@documented("A batch across metrics, all or nothing: points, or series items", body="WriteItem", status="201")
def write():
    """A batch across metrics (points, or series items of many points each), validated whole before anything
    is stored."""
    body = json_body()
    if not isinstance(body, list):
        body = [body]
    limit = server_config()["max_batch_points"]
    if not body or len(body) > limit:
        raise ApiError(f"expected 1 to {limit} points in a batch, got {len(body)} items", 400)
    batch = load_batch(body, write_schema)
    check_metrics(set(batch.names))  # a token limited to metric prefixes
    if len(batch) > limit:
        raise ApiError(f"expected 1 to {limit} points in a batch, got {len(batch)}", 400)
    written = write_batch(registry(), store(), rollups(), batch, server_config(), quota=quota())
    count_ingested(written)
    return json_response({"message": "Success", "id": written}, 201)


@dataclass
class Raw:
    """Raw points of the matching series, as columns ordered by time, then series id: each point's series (an
    index into `series`, which is in id order) and its position in that series' arrays."""

    series: list[tuple[str, dict, SeriesPoints]]
    which: np.ndarray
    at: np.ndarray
    ts: np.ndarray
    value: np.ndarray

    def __len__(self) -> int:
        return len(self.ts)

    def cells(self, column: str) -> list:
        """Each point's state or buckets."""
        return [getattr(self.series[which][2], column)[at] for which, at in zip(self.which.tolist(), self.at.tolist())]

    def labels(self) -> list[dict]:
        return [self.series[which][1] for which in self.which.tolist()]

    def __getitem__(self, rows) -> "Raw":
        return Raw(self.series, self.which[rows], self.at[rows], self.ts[rows], self.value[rows])


def raw_points(metric: Metric, args: dict, filters: dict[str, list[str]], limit: int | None) -> Raw:
    """Points of matching series in the asked range, after the cursor when there is one; once more than `limit`
    of them are read (in time order), no more are."""
    start = args["start_time"] if args["start_time"] is not None else POINT_MIN_MS
    end = args["end_time"] if args["end_time"] is not None else POINT_END_MS
    after = decode_cursor(args["cursor"]) if args["cursor"] else None
    if after:
        start = max(start, after[0])
    selected = sorted(matching_series(metric, filters), key=lambda pair: pair[0])

    def enough(data: dict[str, SeriesPoints]) -> bool:
        return sum(len(points) for points in data.values()) > limit + (len(selected) if after else 0)

    data = gateway().in_order(metric, [sid for sid, _ in selected], start, end, None if limit is None else enough)
    series = [(sid, labels, data[sid]) for sid, labels in selected]
    if not series:
        nothing = np.empty(0, dtype=np.int64)
        return Raw(series, nothing, nothing, nothing, np.empty(0))
    sizes = [len(points) for _, _, points in series]
    which = np.repeat(np.arange(len(series)), sizes)
    at = np.concatenate([np.arange(size) for size in sizes])
    ts = np.concatenate([points.ts for _, _, points in series])
    value = np.concatenate([points.value for _, _, points in series])
    raw = Raw(series, which, at, ts, value)
    order = np.lexsort((which, ts))
    if after:
        later = np.array([sid > after[1] for sid, _, _ in series], dtype=bool)
        order = order[(ts[order] > after[0]) | ((ts[order] == after[0]) & later[which[order]])]
    return raw[order]


def encode_cursor(ts: int, sid: str) -> str:
    return base64.urlsafe_b64encode(f"{ts}:{sid}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        ts, sid = base64.urlsafe_b64decode(cursor.encode()).decode().split(":", 1)
        return int(ts), sid
    except ValueError:
        raise ApiError("cursor: not a cursor this API returned", 400, field="cursor") from None


def nullable(values: np.ndarray) -> list:
    """Floats as Python numbers, NaN (no value) as None."""
    numbers = values.tolist()
    for position in np.flatnonzero(np.isnan(values)).tolist():
        numbers[position] = None
    return numbers


def bucket_json(buckets: dict | None) -> dict:
    """Buckets as the API shows them: bound text to count, whole counts as integers, ascending bounds."""
    return {bound_text(bound): int(count) if count.is_integer() else count
            for bound, count in sorted((buckets or {}).items())}


def extra_column(metric: Metric, raw: Raw) -> tuple[str, list] | None:
    """The column a metric's type adds to its points: an enum's state, a histogram's buckets."""
    column = EXTRA_COLUMN.get(metric.type)
    if column is None:
        return None
    cells = raw.cells(column)
    return column, [bucket_json(buckets) for buckets in cells] if column == "buckets" else cells


def page_json(metric: Metric, raw: Raw) -> list[dict]:
    """Points as the API shows them: labels, value, state or buckets by type, ISO time (key order kept)."""
    columns = zip(raw.labels(), nullable(raw.value), format_iso_array(raw.ts))
    extra = extra_column(metric, raw)
    if extra is None:
        return [{"labels": labels, "value": value, "timestamp": ts} for labels, value, ts in columns]
    key, cells = extra
    return [{"labels": labels, "value": value, key: cell, "timestamp": ts}
            for (labels, value, ts), cell in zip(columns, cells)]


@blueprint.get("/metrics/<name>/data")
@documented("Raw points; other parameters filter labels (host=a, repeat for OR)", query=DataQuerySchema, csv=True)
def read_data(name: str):
    """Raw points, oldest first; `limit` per page, the next page's cursor in the Link and X-Next-Cursor headers."""
    metric = find_metric(name)
    args = load_args(query_schema)
    filters = label_filters(set(query_schema.fields))
    raw = raw_points(metric, args, filters, None if args["format"] == "csv" else args["limit"])
    if args["format"] == "csv":
        return csv_response(metric, raw)
    page = raw[:args["limit"]]
    headers = {}
    if len(raw) > args["limit"]:
        cursor = encode_cursor(int(page.ts[-1]), page.series[page.which[-1]][0])
        headers = {"X-Next-Cursor": cursor, "Link": f'<{next_url(cursor)}>; rel="next"'}
    return json_response(page_json(metric, page), headers=headers)


def next_url(cursor: str) -> str:
    """This request's URL with the next cursor, every part percent-encoded: a header value is ASCII and cannot
    close the <...> of a Link, add a parameter or break a line whatever the labels hold."""
    args = request.args.copy()
    args["cursor"] = cursor
    return quote(request.path) + "?" + urlencode(list(args.items(multi=True)), quote_via=quote, safe="")


def label_columns(metric: Metric, raw: Raw) -> list[str]:
    """The label keys CSV has columns for: the metric's, or for open labels every key of the selected series."""
    if not metric.open_labels:
        return list(metric.label_keys)
    return sorted({key for _, labels, _ in raw.series for key in labels})


def csv_columns(metric: Metric, raw: Raw, keys: list[str]) -> list[list]:
    """The CSV columns of some points: ISO time, each label (empty where a series has none), value (empty when
    none), state or bucket counts."""
    labels = raw.labels()
    columns = [format_iso_array(raw.ts), *(csvio.neutral_column(item.get(key, "") for item in labels)
                                           for key in keys),
               ["" if value is None else repr(value) for value in nullable(raw.value)]]
    extra = extra_column(metric, raw)
    if extra:
        key, cells = extra
        columns.append(csvio.neutral_column(cells if key == "state" else [
            ";".join(f"{bound}={count:g}" for bound, count in buckets.items()) for buckets in cells]))
    return columns


def drain(buffer: io.StringIO) -> str:
    """What was written to the buffer since the last drain."""
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def csv_response(metric: Metric, raw: Raw) -> Response:
    """Stream points as CSV: timestamp, one column per label key, value (and state or buckets by type); the
    header even when no point matches."""
    keys = label_columns(metric, raw)
    header = ["timestamp", *keys, "value", *metric.extra_columns]

    def generate():
        buffer = io.StringIO()
        writer = csvio.writer(buffer)
        writer.writerow(csvio.neutral_column(header))
        yield drain(buffer)
        for start in range(0, len(raw), CSV_CHUNK):
            writer.writerows(zip(*csv_columns(metric, raw[start:start + CSV_CHUNK], keys)))
            yield drain(buffer)

    return Response(stream_with_context(generate()), mimetype="text/csv",
                    headers={"Content-Disposition": csvio.attachment(f"{metric.name}.csv")})
