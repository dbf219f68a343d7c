"""A bounded per-instance cache of decoded raw points (as Cortex's chunks cache): a query asked again, as a
dashboard refreshing asks it, reads no chunk of Cassandra and decodes none for the series and buckets it holds.

An entry is one series' points of one bucket over the hours read, filed under the bucket's `changed` timeuuid,
which storage/points.py writes anew whenever the bucket's chunks change (a merge of intake rows, late ones
included; a drop, as a DELETE of the metric does). `changed` is a static column of the bucket's intake partition
(storage/intake.py): a read takes the intake rows not merged yet and `changed` in one request, and uses an entry
only when it was filled under the same `changed`. A merge writes its chunks first, then deletes the rows it merged
and writes `changed` in one single-partition batch, so a read sees the rows (and may use the entries) or the new
`changed` (and reads the merged chunks), never the rows gone beside the old `changed`.
A compaction rewrites chunks into one with the same points, so it leaves entries valid. Keyed by the metric's id
too, so a metric deleted and created again under its name shares nothing with the old one. A metric with a
retention is not cached (PointStore.cache_of): Cassandra's TTL removes its points without a new `changed`. Least
recently used entries go first once the entries' arrays pass `max_bytes` (0: no cache).
"""
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

ENTRY_BYTES = 200  # what an entry costs besides its arrays (key, tuple, dataclass), roughly


@dataclass(frozen=True)
class Entry:
    """One series' points of one bucket in [low, high) (whole hours), as `changed` left them; `written` is the
    newest chunk they come from, which orders them against intake rows as those chunks would be."""

    changed: uuid.UUID | None
    low: int
    high: int
    ts: np.ndarray
    value: np.ndarray
    written: uuid.UUID

    def covers(self, changed: uuid.UUID | None, low: int, high: int) -> bool:
        return self.changed == changed and self.low <= low and high <= self.high

    @property
    def size(self) -> int:
        return self.ts.nbytes + self.value.nbytes + ENTRY_BYTES


class ChunkCache:
    """Decoded points by (metric id, bucket, series id), least recently used out first, thread-safe."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.size = 0
        self._entries: OrderedDict[tuple, Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, changed: uuid.UUID | None, low: int, high: int) -> Entry | None:
        """The entry of `key` if it was filled under `changed` and holds [low, high), else None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or not entry.covers(changed, low, high):
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple, entry: Entry) -> None:
        """Keep `entry` for `key` (replacing the one there), then drop the least recently used past max_bytes."""
        if entry.size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            self.size += entry.size - (old.size if old is not None else 0)
            self._entries[key] = entry
            while self.size > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self.size -= dropped.size

    def __len__(self) -> int:
        return len(self._entries)
