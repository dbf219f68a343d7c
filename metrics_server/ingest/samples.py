"""What every protocol parser produces: a request's samples grouped by series, checked by the same rules as
/api/write's items, then stored all or nothing by the same path (`write_batch`), creating the metrics it names
with open labels and the type, description and unit the protocol gave them."""
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from metrics_server.errors import ApiError
from metrics_server.ingest.columns import MAX_LABEL_VALUE, Batch, absent
from metrics_server.ingest.rules import Quota, write_batch
from metrics_server.model import CONTROL_CHARACTERS, CONTROL_REFUSED, LABEL_KEY_PATTERN, NAME_PATTERN, Metric
from metrics_server.query.timeparse import MAX_MS, MIN_MS
from metrics_server.storage.db import Database
from metrics_server.storage.points import PointStore
from metrics_server.storage.registry import Registry
from metrics_server.storage.rollups import Rollups

MAX_UNIT, MAX_DESCRIPTION = 32, 2000  # as POST /api/metrics allows
SAMPLE_NAN = np.uint64(0x7FF8000000000001).view(np.float64)  # Go's math.NaN(), Prometheus' ordinary NaN sample
_name_ok = re.compile(NAME_PATTERN).match
_label_key_ok = re.compile(LABEL_KEY_PATTERN).match
_control = re.compile(CONTROL_CHARACTERS).search


class BadSample(ApiError):
    """A 400 naming the sample by where the request had it (`timeseries 3`, `line 7`) and what is wrong."""

    def __init__(self, where: str, field_name: str, message: str):
        super().__init__(f"{where}: {field_name}: {message}", 400, field=field_name, where=where)


@dataclass
class Samples:
    """Series in request order (name, labels, where the request had them, how many points), their points as
    columns (epoch ms, float), the type, description and unit a metric this request creates gets, and samples
    that are not values by the protocol's own rules (stale markers), counted by reason."""

    names: list[str] = field(default_factory=list)
    labels: list[dict[str, str]] = field(default_factory=list)
    where: list = field(default_factory=list)  # words, or what `place` makes words of (only for an error)
    sizes: list[int] = field(default_factory=list)
    ts: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    place: Callable[[object, str], str] = staticmethod(lambda where, name: str(where))
    limit: int | None = None  # max_batch_points, for parsers that check it while they parse (add refuses more)

    def where_of(self, index: int) -> str:
        """Where the request had series `index`, in words."""
        return self.place(self.where[index], self.names[index])

    def add(self, name: str, labels: dict[str, str], where: str, ts: list[int], values: list[float]) -> None:
        """One series' points (as many times as values)."""
        self.names.append(name)
        self.labels.append(labels)
        self.where.append(where)
        self.sizes.append(len(ts))
        self.ts += ts
        self.values += values
        if self.limit is not None and len(self.ts) > self.limit:
            raise too_many(self.limit, "more")

    def skip(self, reason: str, count: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + count

    def __len__(self) -> int:
        return len(self.ts)


def too_many(limit: int, got) -> ApiError:
    return ApiError(f"expected at most {limit} samples in a request (max_batch_points), got {got}", 400)


def check_name(name: str, where: str) -> None:
    """/api/write's rule for metric names, the sample named by where the request had it."""
    if not _name_ok(name):
        raise BadSample(where, "name", f"{name!r} is not a valid metric name: expected letters, digits, _ : . - "
                                       "starting with a letter or _, at most 200 characters")


def check_labels(labels: dict[str, str], where: str, max_names: int) -> None:
    """/api/write's rules for label names and values, and at most `max_names` of them."""
    if len(labels) > max_names:
        raise BadSample(where, "labels", f"{len(labels)} label names (at most {max_names}, max_label_names_per_series)")
    for key, value in labels.items():
        if not _label_key_ok(key):
            raise BadSample(where, f"labels.{key}", "not a valid label name: expected letters, digits and _, "
                                                    "starting with a letter or _, at most 100 characters")
        if len(value) > MAX_LABEL_VALUE:
            raise BadSample(where, f"labels.{key}", f"longer than {MAX_LABEL_VALUE} characters")
        if _control(value):
            raise BadSample(where, f"labels.{key}", CONTROL_REFUSED)


def to_batch(samples: Samples, limit: int, max_label_names: int) -> Batch:
    """The samples as a Batch whose item i is series i; a 400 names the first bad sample (also one with more than
    `max_label_names` labels), and more than `limit` points (max_batch_points) in one request is a 400 too."""
    if len(samples) > limit:
        raise too_many(limit, len(samples))
    seen: set[str] = set()
    index: dict[tuple, int] = {}
    codes = []
    for position, (name, labels) in enumerate(zip(samples.names, samples.labels)):
        if name not in seen:
            check_name(name, samples.where_of(position))
            seen.add(name)
        key = tuple(labels.items())
        if key not in index:
            check_labels(labels, samples.where_of(position), max_label_names)
            index[key] = len(index)
        codes.append(index[key])
    sizes = np.array(samples.sizes, dtype=np.int64)
    item_of = np.repeat(np.arange(len(sizes)), sizes)
    value = np.array(samples.values, dtype=np.float64)
    value[absent(value)] = SAMPLE_NAN  # a sample always has a value: its NaN must not read as "none"
    ts = np.array(samples.ts, dtype=np.int64)
    outside = (ts < MIN_MS) | (ts > MAX_MS)
    if outside.any():
        at = int(np.argmax(outside))
        raise BadSample(samples.where_of(item_of[at]), "timestamp",
                        f"{samples.ts[at]} ms is outside years 1 to 9999")
    return Batch(samples.names, [dict(key) for key in index], np.repeat(np.array(codes, dtype=np.int64), sizes),
                 value, ts, item_of=item_of)



class Intake:
    """The ingest path for protocol samples: the stores and the configuration's limits and defaults."""

    def __init__(self, registry: Registry, store: PointStore, rollups: Rollups, config: dict,
                 quota: Quota | None = None):
        self.registry, self.store, self.rollups, self.config, self.quota = registry, store, rollups, config, quota

    @classmethod
    def from_db(cls, db: Database, config: dict) -> "Intake":
        """Stores of its own, for a process without the Flask app (the Graphite listener)."""
        registry = Registry(db)
        store = PointStore(db, registry)
        return cls(registry, store, Rollups(db, registry, store), config)

    def write(self, samples: Samples) -> int:
        """Store every sample or none; returns how many. A 400 names the first bad sample by where the request
        had it, also when the metric it belongs to refuses it (a metric defined with fixed label_keys)."""
        batch = to_batch(samples, self.config["max_batch_points"], self.config["max_label_names_per_series"])
        if not len(batch):
            return 0

        def new_metric(name: str, labels: dict[str, str], config: dict, index: int | None) -> Metric:
            return Metric(name=name, type=samples.types.get(name, "gauge"), open_labels=True,
                          unit=samples.units.get(name, "")[:MAX_UNIT],
                          description=samples.descriptions.get(name, "")[:MAX_DESCRIPTION],
                          partition_hours=config["partition_hours"], retention_days=config["default_retention_days"])

        try:
            return write_batch(self.registry, self.store, self.rollups, batch, self.config, new_metric, self.quota)
        except ApiError as error:
            index = error.details.get("index")
            if index is None:
                raise
            field_name = error.details.get("field", "")
            raise BadSample(samples.where_of(index), field_name,
                            error.message.removeprefix(f"{index}.{field_name}: ")) from None
