"""The pure parts of the series index: matchers as PromQL has them, which postings answer a selector, shards,
and the selection cache's staleness bound."""
import time

import pytest

from metrics_server.storage.registry import series_id
from metrics_server.storage.series_index import (
    SHARDS,
    Matcher,
    SelectionCache,
    matchers_of,
    postings_plan,
    shard_of_series,
    shard_of_value,
)


@pytest.mark.parametrize("matcher, labels, expected", [
    (Matcher("host", "=", "a"), {"host": "a"}, True),
    (Matcher("host", "=", "a"), {"host": "ab"}, False),
    (Matcher("host", "!=", "a"), {"host": "b"}, True),
    (Matcher("host", "!=", "a"), {}, True),
    (Matcher("host", "=~", "a|b"), {"host": "b"}, True),
    (Matcher("host", "=~", "a"), {"host": "ab"}, False),  # regexes match whole values
    (Matcher("host", "!~", "web-.*"), {"host": "db-1"}, True),
    (Matcher("host", "=", ""), {}, True),  # an absent label is the empty value
    (Matcher("host", "in", ("a", "c")), {"host": "c"}, True),
])
def test_matchers_follow_promql(matcher, labels, expected):
    assert matcher.matches(labels) is expected


def test_a_bad_regex_or_op_is_refused_naming_it():
    with pytest.raises(ValueError, match="host: invalid regular expression"):
        Matcher("host", "=~", "(")
    with pytest.raises(ValueError, match="op must be one of"):
        Matcher("host", "~", "a")


def test_the_matcher_naming_fewest_values_chooses_the_postings():
    assert postings_plan(matchers_of({"dc": ["a", "b"], "host": ["h1"]})) == Matcher("host", "=", "h1")
    assert postings_plan((Matcher("host", "!=", "a"), Matcher("dc", "=~", "e.*"))) is None
    assert postings_plan((Matcher("host", "=", ""),)) is None  # absent labels have no postings


@pytest.mark.parametrize("regex, values", [
    ("web-1|web-2|db:3", ("web-1", "web-2", "db:3")),  # Grafana's multi-value variable
    ("a|a", ("a",)),
    ("a|", ("a", "")),  # also series without the label: not answered by postings
    ("web-.*", None), ("a.b", None), ("(?i)a|b", None), ("|".join(f"h{i}" for i in range(65)), None),
])
def test_a_regex_listing_literal_values_names_them_for_the_postings(regex, values):
    assert Matcher("host", "=~", regex).positive_values == values
    assert Matcher("host", "!~", regex).positive_values is None


def test_series_and_values_spread_over_every_shard_evenly():
    sids = [series_id({"host": f"h{i}"}) for i in range(16_000)]
    counts = [0] * SHARDS
    for sid in sids:
        counts[shard_of_series(sid)] += 1
    assert min(counts) > 800 and max(counts) < 1200, counts
    assert {shard_of_value(f"v{i}") for i in range(200)} == set(range(SHARDS))


def test_cached_selections_expire_after_their_bound_and_a_write_forgets_its_metric():
    cache = SelectionCache(seconds=0.05, entries=2)
    cache.put(("m1", ()), [1])
    cache.put(("m2", ()), [2])
    assert cache.get(("m1", ())) == [1]
    cache.put(("m3", ()), [3])  # m2 was used least recently
    assert cache.get(("m2", ())) is None and cache.get(("m1", ())) == [1]
    cache.forget("m1")
    assert cache.get(("m1", ())) is None and cache.get(("m3", ())) == [3]
    time.sleep(0.06)
    assert cache.get(("m3", ())) is None
