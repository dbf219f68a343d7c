"""The pure parts of the series index (issue 14): how series and label values are spread over shard partitions,
how a selector's matchers are answered (which postings to read, the rest checked on the labels in hand), and the
per-process cache of answered selections with its staleness bound. storage/registry.py does the CQL.

Why shards: one partition per metric held every label set and was read whole on every query (20,000 series:
61 s for a 1 h query). Every index partition is now per metric and shard (16), or per label value and shard, so
none grows past a metric's series ÷ 16 rows, whatever the cardinality (KairosDB's one row key index per metric is
the known failure this avoids)."""
import re
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from metrics_server.goregex import compile_go

SHARDS = 16
OPS = ("=", "!=", "=~", "!~", "in")
LITERALS = re.compile(r"[\w\-:/@, ]*(\|[\w\-:/@, ]*)*", re.ASCII)  # a regex of literal alternatives only
MAX_POSTING_VALUES = 64  # a regex matching more label values than this reads the whole index instead
CACHE_SECONDS = 10.0  # how stale another instance's view of a metric's series may be (documented in README)
CACHE_ENTRIES = 256


def shard_of_series(sid: str) -> int:
    """The shard of a series id (a hex hash already, so its first digits spread evenly)."""
    return int(sid[:8], 16) % SHARDS


def shard_of_value(value: str) -> int:
    return zlib.crc32(value.encode()) % SHARDS


@dataclass(frozen=True)
class Matcher:
    """One label matcher, as in PromQL: `=`, `!=`, `=~`, `!~` (regexes match whole values), or `in` a set of
    values (our repeated `host=a&host=b`). An absent label is the empty string."""

    key: str
    op: str
    value: str | tuple[str, ...]

    def __post_init__(self):
        if self.op not in OPS:
            raise ValueError(f"matcher op must be one of {', '.join(OPS)}; got {self.op!r}")
        if self.op in ("=~", "!~"):
            try:
                object.__setattr__(self, "_regex", compile_go(self.value))
            except ValueError as error:
                raise ValueError(f"{self.key}: {error}") from None

    def matches(self, labels: dict[str, str]) -> bool:
        value = labels.get(self.key, "")
        if self.op == "=":
            return value == self.value
        if self.op == "in":
            return value in self.value
        if self.op == "!=":
            return value != self.value
        found = self._regex.fullmatch(value) is not None
        return found if self.op == "=~" else not found

    @property
    def positive_values(self) -> tuple[str, ...] | None:
        """The exact values this matcher accepts, when it names them (=, in, and a regex that only lists up to
        MAX_POSTING_VALUES literal values, as Grafana's `host=~"a|b|c"`: its postings are read at once, not after
        the label's values), else None."""
        if self.op == "=":
            return (self.value,)
        if self.op == "=~" and LITERALS.fullmatch(self.value) and self.value.count("|") < MAX_POSTING_VALUES:
            return tuple(dict.fromkeys(self.value.split("|")))
        return tuple(self.value) if self.op == "in" else None


def matchers_of(filters: dict[str, list[str]]) -> tuple[Matcher, ...]:
    """Our query-string filters (a key's repeated values are alternatives) as matchers."""
    return tuple(Matcher(key, "=", values[0]) if len(values) == 1 else Matcher(key, "in", tuple(values))
                 for key, values in sorted(filters.items()))


def postings_plan(matchers: tuple[Matcher, ...]) -> Matcher | None:
    """The matcher whose postings answer the selector (the one with fewest exact values, none empty), or None
    when no matcher names its values: then a regex's values are looked up, or the whole index is read."""
    exact = [m for m in matchers if m.positive_values and "" not in m.positive_values]
    return min(exact, key=lambda m: len(m.positive_values)) if exact else None


class SelectionCache:
    """Answered selections per metric for CACHE_SECONDS, least recently used dropped past CACHE_ENTRIES. A write
    that creates series drops its metric's entries in its own process, so a new series is visible at once where
    it was written, and within CACHE_SECONDS on every other instance (at once to a PromQL read of points, which
    reads an older selection again beside its points: Registry.select_soon)."""

    def __init__(self, seconds: float = CACHE_SECONDS, entries: int = CACHE_ENTRIES,
                 clock: Callable[[], float] = time.monotonic):
        self.seconds, self.entries = seconds, entries
        self.clock = clock
        self._items: OrderedDict[tuple, tuple[float, object]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple):
        """The selection cached under `key` within `seconds`, else None."""
        found = self.aged(key)
        return found[0] if found is not None and found[1] else None

    def aged(self, key: tuple) -> tuple[object, bool] | None:
        """(the selection cached under `key` whatever its age, whether it is within `seconds`), or None."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[1], self.clock() - item[0] <= self.seconds

    def put(self, key: tuple, value) -> None:
        with self._lock:
            self._items[key] = (self.clock(), value)
            self._items.move_to_end(key)
            while len(self._items) > self.entries:
                self._items.popitem(last=False)

    def forget(self, metric_id) -> None:
        """Drop every entry of one metric (keys start with its id)."""
        with self._lock:
            for key in [key for key in self._items if key[0] == metric_id]:
                del self._items[key]
