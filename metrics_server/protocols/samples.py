"""What every protocol parser produces: a request's samples grouped by series, checked by the same rules as
/api/write's items, then handed over as the columns (`Batch`) that the ingest path stores all or nothing."""
import re
from dataclasses import dataclass, field

import numpy as np

from metrics_server.batch import MAX_LABEL_VALUE, Batch
from metrics_server.errors import ApiError
from metrics_server.query.timeparse import MAX_MS, MIN_MS
from metrics_server.schemas import LABEL_KEY_PATTERN, NAME_PATTERN

_name_ok = re.compile(NAME_PATTERN).match
_label_key_ok = re.compile(LABEL_KEY_PATTERN).match


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
    where: list[str] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    ts: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, labels: dict[str, str], where: str, ts: list[int], values: list[float]) -> None:
        """One series' points (as many times as values)."""
        self.names.append(name)
        self.labels.append(labels)
        self.where.append(where)
        self.sizes.append(len(ts))
        self.ts += ts
        self.values += values

    def skip(self, reason: str, count: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + count

    def __len__(self) -> int:
        return len(self.ts)


def check_name(name: str, where: str) -> None:
    """/api/write's rule for metric names, the sample named by where the request had it."""
    if not _name_ok(name):
        raise BadSample(where, "name", f"{name!r} is not a valid metric name: expected letters, digits, _ : . - "
                                       "starting with a letter or _, at most 200 characters")


def check_labels(labels: dict[str, str], where: str) -> None:
    """/api/write's rules for label names and values."""
    for key, value in labels.items():
        if not _label_key_ok(key):
            raise BadSample(where, f"labels.{key}", "not a valid label name: expected letters, digits and _, "
                                                    "starting with a letter or _, at most 100 characters")
        if len(value) > MAX_LABEL_VALUE:
            raise BadSample(where, f"labels.{key}", f"longer than {MAX_LABEL_VALUE} characters")


def to_batch(samples: Samples, limit: int) -> Batch:
    """The samples as a Batch whose item i is series i; a 400 names the first bad sample, and more than `limit`
    points (max_batch_points) in one request is a 400 too."""
    if len(samples) > limit:
        raise ApiError(f"expected at most {limit} samples in a request (max_batch_points), got {len(samples)}", 400)
    seen: set[str] = set()
    index: dict[tuple, int] = {}
    codes = []
    for name, labels, where in zip(samples.names, samples.labels, samples.where):
        if name not in seen:
            check_name(name, where)
            seen.add(name)
        key = tuple(labels.items())
        if key not in index:
            check_labels(labels, where)
            index[key] = len(index)
        codes.append(index[key])
    sizes = np.array(samples.sizes, dtype=np.int64)
    item_of = np.repeat(np.arange(len(sizes)), sizes)
    value = np.array(samples.values, dtype=np.float64)
    bad = ~np.isfinite(value)
    if bad.any():
        at = int(np.argmax(bad))
        raise BadSample(samples.where[item_of[at]], "value", f"{samples.values[at]!r} is not a finite number")
    ts = np.array(samples.ts, dtype=np.int64)
    outside = (ts < MIN_MS) | (ts > MAX_MS)
    if outside.any():
        at = int(np.argmax(outside))
        raise BadSample(samples.where[item_of[at]], "timestamp",
                        f"{samples.ts[at]} ms is outside years 1 to 9999")
    names = [name for name, size in zip(samples.names, samples.sizes) for _ in range(size)]
    return Batch(names, [dict(key) for key in index], np.repeat(np.array(codes, dtype=np.int64), sizes), value, ts,
                 item_of=item_of)

