"""The chunk cache's bounds and validity rules, without Cassandra (storage/chunk_cache.py)."""
import uuid

import numpy as np

from metrics_server.storage.chunk_cache import ENTRY_BYTES, ChunkCache, Entry

HOUR = 3_600_000
CHANGED = uuid.uuid1()


def entry(points: int, changed=CHANGED, low: int = 0, high: int = 24 * HOUR) -> Entry:
    return Entry(changed, low, high, np.arange(points, dtype=np.int64), np.zeros(points), uuid.uuid1())


def test_an_entry_answers_only_under_its_changed_and_within_its_hours():
    cache = ChunkCache(1 << 20)
    cache.put("a", entry(10, low=HOUR, high=5 * HOUR))
    assert cache.get("a", CHANGED, HOUR, 5 * HOUR) is not None
    assert cache.get("a", CHANGED, 2 * HOUR, 3 * HOUR + 1) is not None
    assert cache.get("a", uuid.uuid1(), HOUR, 5 * HOUR) is None  # the bucket's chunks changed since
    assert cache.get("a", None, HOUR, 5 * HOUR) is None
    assert cache.get("a", CHANGED, 0, 5 * HOUR) is None  # an hour before those read
    assert cache.get("a", CHANGED, HOUR, 5 * HOUR + 1) is None  # an hour after
    assert cache.get("b", CHANGED, HOUR, 2 * HOUR) is None


def test_the_least_recently_used_entries_go_once_past_the_bound():
    size = entry(100).size
    assert size == 100 * 16 + ENTRY_BYTES
    cache = ChunkCache(3 * size)
    for key in "abc":
        cache.put(key, entry(100))
    assert cache.get("a", CHANGED, 0, HOUR) is not None  # a used last: b goes first
    cache.put("d", entry(100))
    assert [key for key in "abcd" if cache.get(key, CHANGED, 0, HOUR) is not None] == ["a", "c", "d"]
    assert cache.size == 3 * size and len(cache) == 3
    cache.put("a", entry(10))  # replaced: its old size is given back
    assert cache.size == 2 * size + entry(10).size


def test_nothing_is_kept_larger_than_the_bound_or_with_no_cache():
    small, none = ChunkCache(1000), ChunkCache(0)
    small.put("a", entry(100))
    none.put("a", entry(0))
    assert len(small) == len(none) == 0 and small.size == none.size == 0
