"""Write items as columns. The common item shapes (a point: name, labels, number value, epoch or ISO time; a
series: name, labels, lists of times and values) are checked with plain loops and numpy, each distinct name and
label set once; any other item sends the whole body through the marshmallow schema, which stays the contract
and words every error exactly as it always has."""
import re
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from marshmallow import Schema

from metrics_server.model import CONTROL_CHARACTERS, LABEL_KEY_PATTERN, NAME_PATTERN
from metrics_server.query.timeparse import EPOCH_MS_FROM, MAX_MS, MIN_MS, _from_iso, parse_instant
from metrics_server.schemas import SeriesItemSchema, now_ms
from metrics_server.storage.registry import series_id

FAST_FIELDS = frozenset(("name", "labels", "value", "timestamp"))
SERIES_FIELDS = frozenset(("name", "labels", "timestamps", "values"))
series_schema = SeriesItemSchema(many=True)
MAX_LABEL_VALUE = 512
_name_ok = re.compile(NAME_PATTERN).match
_label_key_ok = re.compile(LABEL_KEY_PATTERN).match
_control = re.compile(CONTROL_CHARACTERS).search
_EMPTY: dict = {}


ABSENT_BITS = 0x7FF8000000000000  # the NaN (numpy's) a batch holds where a point has no value; other NaNs are values


def absent(values: np.ndarray) -> np.ndarray:
    """Where a batch's values are "no value" (told from a NaN sample, such as Prometheus' stale marker, by bits)."""
    return values.view(np.uint64) == ABSENT_BITS


@dataclass
class Batch:
    """Validated points in request order: per point its label set (an index into `label_sets`), value (the NaN
    of ABSENT_BITS when absent), epoch ms (now when absent), state and buckets when any point has them, and the
    request item it came from when items are series. Metric names are per item when items are series (a name
    per point, a list of 5,000 built and walked, cost a JSON write of 200 series items 0.5 ms of CPU), else per
    point."""

    names: list | None
    label_sets: list[dict[str, str]]
    labels: np.ndarray
    value: np.ndarray
    ts: np.ndarray
    state: list | None = None
    buckets: list | None = None
    item_of: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ts)

    def item(self, position: int) -> int:
        """The request item (its index, as errors name it) of the point at `position`."""
        return position if self.item_of is None else int(self.item_of[position])

    @cached_property
    def series_ids(self) -> list[str]:
        """The series id of each label set, hashed once per distinct set rather than once per point."""
        return [series_id(labels) for labels in self.label_sets]

    def by_name(self) -> list[tuple[str, np.ndarray]]:
        """(metric name, positions of its points) in order of first appearance."""
        codes: dict[str, int] = {}
        named = np.array([codes.setdefault(name, len(codes)) for name in self.names], dtype=np.int64)
        per_point = named if self.item_of is None else named[self.item_of]
        order = np.argsort(per_point, kind="stable")
        cuts = np.cumsum(np.bincount(per_point, minlength=len(codes)))[:-1]
        return list(zip(codes, np.split(order, cuts)))


def load_batch(body, schema: Schema) -> Batch:
    """`body` (a list for a `many` schema, else one item) validated as `schema` would; raises its ValidationError."""
    items = body if schema.many else [body]
    if "name" in schema.fields and isinstance(body, list) and any(type(item) is dict and "values" in item
                                                                  for item in body):
        return load_series(body)
    fast = fast_batch(items, set(schema.fields)) if isinstance(items, list) else None
    return fast if fast is not None else from_items(schema.load(body) if schema.many else [schema.load(body)])


def fast_batch(items: list, fields: set[str]) -> Batch | None:
    """The columns of items of the common shape, or None when any item needs the schema (to be loaded or refused)."""
    named = "name" in fields
    allowed = FAST_FIELDS & fields
    names, labels, values, stamps = [], [], [], []
    for item in items:
        if type(item) is not dict or not item.keys() <= allowed:
            return None
        names.append(item.get("name"))
        labels.append(item.get("labels", _EMPTY))
        values.append(item.get("value"))
        stamps.append(item.get("timestamp"))
    if named and not (set(map(type, names)) == {str} and all(map(_name_ok, set(names)))):
        return None
    label_sets, codes = distinct_label_sets(labels)
    value = numbers(values)
    ts = epoch_ms(stamps, now_ms())
    if label_sets is None or value is None or ts is None:
        return None
    return Batch(names if named else None, label_sets, codes, value, ts)


def load_series(items: list) -> Batch:
    """Series items as columns, checked as SeriesItemSchema would; raises its ValidationError."""
    names, labels, sizes, values, stamps = [], [], [], [], []
    for item in items:
        if type(item) is not dict or not item.keys() <= SERIES_FIELDS:
            break
        times, given = item.get("timestamps"), item.get("values")
        if type(times) is not list or type(given) is not list or not times or len(times) != len(given):
            break
        names.append(item.get("name"))
        labels.append(item.get("labels", _EMPTY))
        sizes.append(len(times))
        values += given
        stamps += times
    else:
        if set(map(type, names)) == {str} and all(map(_name_ok, set(names))):
            value = numbers(values)
            batch = series_batch(names, labels, sizes, None if value is None or np.isnan(value).any() else value,
                                 epoch_ms(stamps, now_ms()))
            if batch is not None:
                return batch
    loaded = series_schema.load(items)
    return series_batch([item["name"] for item in loaded], [item["labels"] for item in loaded],
                        [len(item["values"]) for item in loaded],
                        np.array([value for item in loaded for value in item["values"]], dtype=np.float64),
                        np.array([ts for item in loaded for ts in item["timestamps"]], dtype=np.int64))


def series_batch(names: list, labels: list, sizes: list[int], value: np.ndarray | None,
                 ts: np.ndarray | None) -> Batch | None:
    """The points of series items, each knowing its item; None when a label set, a value or a time is not valid."""
    label_sets, codes = distinct_label_sets(labels)
    if label_sets is None or value is None or ts is None:
        return None
    counts = np.array(sizes, dtype=np.int64)
    return Batch(names, label_sets, np.repeat(codes, counts), value, ts,
                 item_of=np.repeat(np.arange(len(sizes)), counts))


def distinct_label_sets(labels: list) -> tuple[list | None, np.ndarray | None]:
    """Each distinct label set once (checked as the schema would) and each point's index into them."""
    index: dict[tuple, int] = {}
    try:
        codes = np.array([index.setdefault(tuple(item.items()), len(index)) for item in labels], dtype=np.int64)
    except (AttributeError, TypeError):  # not a dict, or a value that is not a string
        return None, None
    for pairs in index:
        if not all(type(key) is str and _label_key_ok(key) and type(value) is str and len(value) <= MAX_LABEL_VALUE
                   and not _control(value) for key, value in pairs):
            return None, None
    return [dict(pairs) for pairs in index], codes


def numbers(values: list) -> np.ndarray | None:
    """Values as float64, NaN for null; None unless every value is a finite JSON number or null."""
    kinds = set(map(type, values))
    if not kinds <= {int, float, type(None)}:
        return None
    try:
        value = np.array(values, dtype=np.float64)
    except OverflowError:
        return None
    nulls = values.count(None) if type(None) in kinds else 0  # (counting costs as much as the conversion)
    return value if np.count_nonzero(np.isfinite(value)) == len(values) - nulls else None


def epoch_ms(stamps: list, now: int) -> np.ndarray | None:
    """Times as epoch ms (now for null), as `parse_instant` reads them; None when one is not a valid time.
    Integers (the usual epoch seconds or ms) are converted at once; others are parsed once per distinct value."""
    kinds = set(map(type, stamps))
    if kinds == {int}:
        try:
            raw = np.array(stamps, dtype=np.int64)
        except OverflowError:
            return None
        if raw.min() < MIN_MS or raw.max() > MAX_MS:
            return None
        ms = np.where(np.abs(raw) >= EPOCH_MS_FROM, raw, raw * 1000)
        return ms if ms.min() >= MIN_MS else None
    if not kinds <= {int, float, str, type(None)}:
        return None
    try:
        parsed = {stamp: instant(stamp, now) for stamp in set(stamps) if stamp is not None}
    except (TypeError, ValueError):
        return None
    return np.array([now if stamp is None else parsed[stamp] for stamp in stamps], dtype=np.int64)


def instant(stamp, now: int) -> int:
    """`parse_instant`, trying ISO 8601 with an offset first: the usual string, and 30 times faster than the
    other spellings' checks (none of which a string with an offset can match)."""
    if type(stamp) is str:
        try:
            return _from_iso(stamp)
        except ValueError:
            pass
    return parse_instant(stamp, now)


def from_items(items: list[dict]) -> Batch:
    """The columns of items the schema loaded (every field present, defaults applied)."""
    index: dict[tuple, int] = {}
    codes = np.array([index.setdefault(tuple(item["labels"].items()), len(index)) for item in items], dtype=np.int64)
    now = now_ms()
    return Batch(
        names=[item["name"] for item in items] if items and "name" in items[0] else None,
        label_sets=[dict(pairs) for pairs in index], labels=codes,
        value=np.array([item["value"] for item in items], dtype=np.float64),
        ts=np.array([now if item["timestamp"] is None else item["timestamp"] for item in items], dtype=np.int64),
        state=[item["state"] for item in items] if any(item["state"] is not None for item in items) else None,
        buckets=[item["buckets"] for item in items] if any(item["buckets"] is not None for item in items) else None)
