"""The domain's facts, in one place: what a metric is, the column each type stores, the aggregates a query
knows, and which of them hourly rollups can answer. Pure data: imported by storage, ingest, query and the API."""
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

METRIC_TYPES = ("gauge", "counter", "enum", "histogram")
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_:.\-]{0,199}$"
LABEL_KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,99}$"
# Text a client stores (label values, units, states) holds no control character (Unicode's Cc: NUL, CR, LF, TAB,
# ESC, DEL, the C1 controls): they break CSV rows, headers and terminals, and no label needs them.
CONTROL_CHARACTERS = r"[\x00-\x1f\x7f-\x9f]"
CONTROL_REFUSED = "control characters (NUL, CR, LF, TAB, ...) are not allowed"  # what every write path answers
# The times a point may have: what a read without a range covers (1970-01-01 up to, not including, 2200-01-01,
# which Cassandra's timestamps and the partition arithmetic hold comfortably).
POINT_MIN_MS, POINT_END_MS = 0, 7_258_118_400_000
# The field a point of each type must carry; value is always a column, the others are extra per-point cells.
REQUIRED_FIELD = {"gauge": "value", "counter": "value", "enum": "state", "histogram": "buckets"}
EXTRA_COLUMN = {metric_type: column for metric_type, column in REQUIRED_FIELD.items() if column != "value"}

MAX_BUCKETS = 10_000  # buckets of one histogram point, the most max_buckets_per_point may be set to

PERCENTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99}
ROLLUP_AGGS = ("avg", "min", "max", "sum", "count", "first", "last")
# anomaly: the highest anomaly score (query/anomaly.py) of a bin's raw points, each scored from the points before it
AGGS = (*ROLLUP_AGGS, *PERCENTILES, "rate", "anomaly")
DEFAULT_AGG = {"counter": "rate", "enum": "count", "histogram": "p50"}  # anything else: avg

# Hourly rollups exist for numeric types; one row holds these per series and hour.
ROLLUP_TYPES = ("gauge", "counter")
ROLLUP_COLUMNS = ("count", "sum", "min", "max", "first", "last", "first_ts", "last_ts")


def default_agg(metric_type: str) -> str:
    """Counters chart as rates, enums as how many state reports, histograms as medians, the rest as averages."""
    return DEFAULT_AGG.get(metric_type, "avg")


def extra_columns(metric_type: str) -> tuple[str, ...]:
    """The per-point cells a type stores besides its value: an enum's state, a histogram's buckets."""
    return (EXTRA_COLUMN[metric_type],) if metric_type in EXTRA_COLUMN else ()


@dataclass(frozen=True)
class Metric:
    """A metric's definition, as stored in the metrics table."""

    name: str
    type: str = "gauge"
    label_keys: tuple[str, ...] = ()
    unit: str = ""
    description: str = ""
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    retention_days: int = 0
    partition_hours: int = 24
    # Created by a wire protocol (remote_write, Influx, Graphite, OTLP): any label set is accepted, as those
    # senders vary them (a new `cpu` label, a relabelled target). label_keys then stays empty.
    open_labels: bool = False

    @property
    def ttl_seconds(self) -> int:
        return self.retention_days * 86400

    @property
    def partition_ms(self) -> int:
        return self.partition_hours * 3_600_000

    @property
    def extra_columns(self) -> tuple[str, ...]:
        return extra_columns(self.type)

    def has_label(self, key: str) -> bool:
        """Whether a filter or grouping may name this label key (any key, for a metric with open labels)."""
        return self.open_labels or key in self.label_keys

    def to_json(self) -> dict:
        return {
            "name": self.name, "type": self.type, "label_keys": list(self.label_keys), "unit": self.unit,
            "description": self.description, "created_at": iso(self.created_at),
            "retention_days": self.retention_days or None, "id": str(self.id), "open_labels": self.open_labels,
        }


def iso(moment: datetime) -> str:
    """UTC ISO 8601 with a Z, seconds precision, as the seed API shows it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
