"""marshmallow schemas for every request body and query string; they also generate the OpenAPI document."""
import time

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from metrics_server.model import (
    AGGS,
    CONTROL_CHARACTERS,
    CONTROL_REFUSED,
    LABEL_KEY_PATTERN,
    MAX_BUCKETS,
    METRIC_TYPES,
    NAME_PATTERN,
)
from metrics_server.query.aggregate import ACROSS
from metrics_server.query.histogram import parse_bound
from metrics_server.query.timeparse import parse_instant


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def since(text: str):
    """A default computed at load time, e.g. since("-1h") is an hour before the request."""
    return lambda: parse_instant(text, now_ms())


class Instant(fields.Field):
    """A moment: ISO 8601 with an offset or Z, epoch seconds or milliseconds, `now` or `-6h`; loads to epoch ms."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise ValidationError("expected ISO 8601 with an offset, or epoch seconds/milliseconds")
        try:
            return parse_instant(value, now_ms())
        except (TypeError, ValueError) as error:
            raise ValidationError(str(error)) from None

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class FiniteFloat(fields.Float):
    """A float that is not NaN or infinite."""

    def __init__(self, **kwargs):
        super().__init__(allow_nan=False, error_messages={
            "invalid": "expected a finite number",
            "special": "expected a finite number (NaN and infinity are rejected)",
        }, **kwargs)


class JsonBoolean(fields.Boolean):
    """true or false only, as the document says: marshmallow's Boolean also takes 0, 1, "yes" and "off" (and a
    set of {True} still holds 1, since 1 == True)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if type(value) is not bool:
            raise self.make_error("invalid", input=value)
        return value


class Buckets(fields.Dict):
    """Histogram buckets: upper bound ('10', '0.5', '+inf') to a non-negative count of observations."""

    def __init__(self, **kwargs):
        super().__init__(keys=fields.String(), values=FiniteFloat(validate=validate.Range(min=0)), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dict) and len(value) > MAX_BUCKETS:  # before checking each (100,000 took 4 s)
            raise ValidationError(f"{len(value)} buckets (at most {MAX_BUCKETS} whatever max_buckets_per_point says)")
        counts = super()._deserialize(value, attr, data, **kwargs)
        try:
            parsed = {parse_bound(key): count for key, count in counts.items()}
        except ValueError as error:
            raise ValidationError(str(error)) from None
        if not parsed:
            raise ValidationError("expected at least one bucket")
        return parsed


def name_field() -> fields.String:
    return fields.String(required=True, validate=validate.Regexp(
        NAME_PATTERN, error="expected letters, digits, _ : . - starting with a letter or _, at most 200 characters"))


# No control characters (NUL, CR, LF, TAB, ESC, DEL...) in text that is stored and shown again; as a pattern, so
# the OpenAPI document says so too.
class WholeMatch(validate.Regexp):
    """A pattern the whole value must match (Python's `$` would let a final newline through)."""

    def __call__(self, value: str) -> str:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


printable = WholeMatch(f"^[^{CONTROL_CHARACTERS[1:-1]}]*$", error=CONTROL_REFUSED)


def labels_field() -> fields.Dict:
    return fields.Dict(keys=fields.String(validate=validate.Regexp(LABEL_KEY_PATTERN)),
                       values=fields.String(validate=[validate.Length(max=512), printable]), load_default=dict)


class MetricSchema(Schema):
    """A metric definition (POST /api/metrics)."""

    class Meta:
        unknown = RAISE

    name = name_field()
    type = fields.String(load_default="gauge", validate=validate.OneOf(METRIC_TYPES))
    label_keys = fields.List(fields.String(validate=validate.Regexp(
        LABEL_KEY_PATTERN, error="expected letters, digits and _, starting with a letter or _")),
        load_default=list, validate=validate.Length(max=32), metadata={"uniqueItems": True})
    unit = fields.String(load_default="", validate=[validate.Length(max=32), printable])
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    retention_days = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(0, 36500))
    partition_hours = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(1, 744),
                                     metadata={"description": "time span of one Cassandra partition; lower it for "
                                               "series written more often than once a second"})

    @validates_schema
    def unique_keys(self, data, **kwargs):
        if len(set(data.get("label_keys", []))) != len(data.get("label_keys", [])):
            raise ValidationError("label keys must be unique", "label_keys")


class PointSchema(Schema):
    """One point of a known metric (POST /api/metrics/<name>/data)."""

    class Meta:
        unknown = RAISE

    labels = labels_field()
    value = FiniteFloat(load_default=None, allow_none=True)
    timestamp = Instant(load_default=None, allow_none=True,
                        metadata={"description": "ISO 8601 with offset or Z, or epoch s/ms; default now (UTC)"})
    buckets = Buckets(load_default=None, allow_none=True)
    state = fields.String(load_default=None, allow_none=True, validate=[validate.Length(min=1, max=200), printable])


class WriteItemSchema(PointSchema):
    """One point of a batch across metrics (POST /api/write)."""

    name = name_field()


class SeriesItemSchema(Schema):
    """Many points of one gauge or counter series (POST /api/write): the compact form for agents that buffer,
    as VictoriaMetrics' JSON import has it. A batch holds either these or points, not both."""

    class Meta:
        unknown = RAISE

    name = name_field()
    labels = labels_field()
    timestamps = fields.List(Instant(), required=True, validate=validate.Length(min=1),
                             metadata={"description": "one per value: ISO 8601 with offset or Z, or epoch s/ms"})
    values = fields.List(FiniteFloat(), required=True)

    @validates_schema
    def one_value_per_timestamp(self, data, **kwargs):
        if len(data.get("values", [])) != len(data.get("timestamps", [])):
            raise ValidationError(f"expected one value per timestamp ({len(data.get('timestamps', []))})", "values")


class RangeSchema(Schema):
    """A time range; both ends accept ISO 8601, epoch s/ms, `now` and relative times like -6h."""

    class Meta:
        unknown = EXCLUDE

    start_time = Instant(load_default=None)
    end_time = Instant(load_default=None)


class DataQuerySchema(RangeSchema):
    """GET /api/metrics/<name>/data: every other parameter is a label filter."""

    limit = fields.Integer(load_default=10_000, validate=validate.Range(1, 100_000))
    cursor = fields.String(load_default=None)
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv")))


class QuerySchema(Schema):
    """GET /api/query: several metrics, binned for a chart (width) or a table (granularity)."""

    class Meta:
        unknown = RAISE

    metric = fields.List(fields.String(), required=True, validate=validate.Length(min=1, max=20),
                         metadata={"description": 'repeatable: name or name{key="value",key="other"}'})
    start = Instant(load_default=since("-1h"))
    end = Instant(load_default=since("now"))
    granularity = fields.String(load_default=None, validate=validate.OneOf(("minute", "hour", "day", "auto")))
    width = fields.Integer(load_default=None, validate=validate.Range(10, 10_000))
    agg = fields.String(load_default=None, validate=validate.OneOf(AGGS))
    group_by = fields.List(fields.String(validate=validate.Regexp(LABEL_KEY_PATTERN)), load_default=list)
    across = fields.String(load_default=None, validate=validate.OneOf(ACROSS), metadata={
        "description": "aggregate across series per bin (after agg per series): one line over all, or one per "
                       "group_by value"})
    tz = fields.String(load_default="UTC")
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv")))

    @validates_schema
    def one_resolution(self, data, **kwargs):
        if data.get("granularity") and data.get("width"):
            raise ValidationError("give either granularity or width, not both", "width")
        if data["start"] >= data["end"]:
            raise ValidationError("start must be before end", "start")


class BinnedRangeSchema(Schema):
    """A range cut into bins for one metric; every other parameter is a label filter."""

    class Meta:
        unknown = EXCLUDE

    start = Instant(load_default=since("-24h"))
    end = Instant(load_default=since("now"))
    granularity = fields.String(load_default=None, validate=validate.OneOf(("minute", "hour", "day", "auto")))
    width = fields.Integer(load_default=None, validate=validate.Range(10, 10_000))
    tz = fields.String(load_default="UTC")


class HeatmapSchema(BinnedRangeSchema):
    """GET /api/metrics/<name>/heatmap."""

    q = fields.List(fields.Float(validate=validate.Range(0, 1)), load_default=lambda: [0.5, 0.9, 0.99])


class StatesSchema(Schema):
    """GET /api/metrics/<name>/states."""

    class Meta:
        unknown = EXCLUDE

    start = Instant(load_default=since("-24h"))
    end = Instant(load_default=since("now"))


# Saved dashboards (api/dashboards.py). Panels name their metrics as the Explore view does; the server checks
# the shape and the values it knows (aggregations, chart types, sizes, times), not that the metrics exist, so a
# dashboard survives a metric being deleted and recreated.
CHART_TYPES = ("line", "bars", "stacked", "points", "stat", "pie", "heatmap")
VARIABLE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,39}$"


class TimeText(fields.String):
    """A time as the dashboard's URL keeps it (`now`, `-6h`, epoch ms, ISO 8601), stored as written."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            parse_instant(text, now_ms())
        except (TypeError, ValueError) as error:
            raise ValidationError(str(error)) from None
        return text


class PanelMetricSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Regexp(NAME_PATTERN, error="invalid metric name"))
    filters = fields.Dict(keys=fields.String(validate=validate.Regexp(LABEL_KEY_PATTERN)),
                          values=fields.List(fields.String(validate=validate.Length(max=500))), load_default=dict)


class YAxisSchema(Schema):
    class Meta:
        unknown = RAISE

    log = JsonBoolean(load_default=False)
    min = FiniteFloat(load_default=None, allow_none=True)
    max = FiniteFloat(load_default=None, allow_none=True)
    thresholds = fields.List(FiniteFloat(), load_default=list, validate=validate.Length(max=10))

    @validates_schema
    def check_bounds(self, data, **kwargs):
        if data["min"] is not None and data["max"] is not None and data["min"] >= data["max"]:
            raise ValidationError("min must be below max", "min")
        if data["log"] and data["min"] is not None and data["min"] <= 0:
            raise ValidationError("a log scale needs a positive min", "min")


class PanelSchema(Schema):
    """One panel of a dashboard: what it queries, how it draws, and its size in the 12-column grid."""

    class Meta:
        unknown = RAISE

    id = fields.String(required=True, validate=validate.Length(1, 40))
    title = fields.String(load_default="", validate=validate.Length(max=200))
    metrics = fields.List(fields.Nested(PanelMetricSchema), required=True, validate=validate.Length(1, 20))
    agg = fields.String(load_default="auto", validate=validate.OneOf(("auto", *AGGS)))
    group_by = fields.List(fields.String(validate=validate.Regexp(LABEL_KEY_PATTERN)), load_default=list,
                           validate=validate.Length(max=5))
    across = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(ACROSS))
    chart = fields.String(load_default="line", validate=validate.OneOf(CHART_TYPES))
    y = fields.Nested(YAxisSchema, load_default=lambda: YAxisSchema().load({}))
    w = fields.Integer(load_default=6, validate=validate.Range(1, 12))
    h = fields.Integer(load_default=2, validate=validate.Range(1, 4))


class VariableSchema(Schema):
    """`$name` in panel filters, chosen from the values of `label` of `metric` (one, or several when `multi`)."""

    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Regexp(VARIABLE_PATTERN, error="expected a name like host"))
    metric = fields.String(required=True, validate=validate.Regexp(NAME_PATTERN, error="invalid metric name"))
    label = fields.String(required=True, validate=validate.Regexp(LABEL_KEY_PATTERN))
    multi = JsonBoolean(load_default=False)  # several values at once: the panels' filters repeat the key (OR)


class DashboardTimeSchema(Schema):
    class Meta:
        unknown = RAISE

    from_ = TimeText(data_key="from", load_default="-6h")
    to = TimeText(load_default="now")

    @post_load
    def as_written(self, data, **kwargs):
        return {"from": data["from_"], "to": data["to"]}


DASHBOARD_TITLE_MAX = 200
DASHBOARD_VERSION = validate.Range(min=1, max=2**31 - 2)  # a save stores version + 1, a CQL int


class DashboardSchema(Schema):
    """A dashboard as saved (POST creates it; PUT saves it and must name the version it edited). An exported
    dashboard (with id, version, updated_at and owner) can be posted back as it is: those four are ignored, and
    metric_prefixes narrowed to the saver's own (metrics_server/auth)."""

    class Meta:
        unknown = RAISE

    title = fields.String(required=True, validate=validate.Length(1, DASHBOARD_TITLE_MAX))
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    time = fields.Nested(DashboardTimeSchema, load_default=lambda: DashboardTimeSchema().load({}))
    refresh = fields.String(load_default="off", validate=validate.OneOf(("off", "5s", "10s", "30s", "1m", "5m")))
    variables = fields.List(fields.Nested(VariableSchema), load_default=list, validate=validate.Length(max=20))
    panels = fields.List(fields.Nested(PanelSchema), load_default=list, validate=validate.Length(max=50))
    version = fields.Integer(load_default=None, strict=True, validate=DASHBOARD_VERSION)
    id = fields.String(load_default=None)
    updated_at = fields.String(load_default=None)
    owner = fields.String(load_default=None)  # an export's: the server records who saves, whatever this says
    metric_prefixes = fields.List(fields.String(validate=validate.Length(1, 200)), load_default=list,
                                  validate=validate.Length(max=100))

    @validates_schema
    def check_ids(self, data, **kwargs):
        ids = [panel["id"] for panel in data["panels"]]
        if len(ids) != len(set(ids)):
            raise ValidationError("two panels share an id", "panels")
        names = [v["name"] for v in data["variables"]]
        if len(names) != len(set(names)):
            raise ValidationError("two variables share a name", "variables")


class RestoreSchema(Schema):
    """POST /api/dashboards/<id>/restore: bring back a kept version as a new save of the version you have."""

    class Meta:
        unknown = RAISE

    restore = fields.Integer(required=True, strict=True, validate=DASHBOARD_VERSION,
                             metadata={"description": "the version of the history to bring back"})
    version = fields.Integer(required=True, strict=True, validate=DASHBOARD_VERSION,
                             metadata={"description": "the dashboard's version you restore over (409 when another save "
                                                      "came first)"})
