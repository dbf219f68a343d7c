"""The columnar write-item check agrees with the marshmallow schema: same values, same refusals, same messages."""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from metrics_server.ingest.columns import Batch, fast_batch, from_items, instant, load_batch
from metrics_server.query.timeparse import parse_instant
from metrics_server.schemas import PointSchema, WriteItemSchema

WRITE = WriteItemSchema(many=True)
FIELDS = set(WRITE.fields)

names = st.sampled_from(["cpu", "mem.used", "_x:y-z"])
labels = st.dictionaries(st.sampled_from(["host", "dc", "_k1"]),
                         st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=8), max_size=3)
values = st.one_of(st.none(), st.integers(-2**63, 2**64 - 1), st.floats(allow_nan=False, allow_infinity=False))
stamps = st.one_of(
    st.integers(-62_135_596_800, 253_402_300_799),  # epoch seconds
    st.integers(100_000_000_000, 253_402_300_799_999),  # epoch ms
    st.floats(0, 4e9), st.sampled_from(["2024-01-02T03:04:05.123Z", "2024-01-02T05:04:05+02:00", "1704164645",
                                        " 2024-01-02T03:04:05Z ", "2024-01-02t03:04:05.5z", "20240102T030405Z",
                                        "20240101e12+01", "1.7e9", "-6h", "now"]))
items = st.lists(st.fixed_dictionaries({"name": names}, optional={"labels": labels, "value": values,
                                                                  "timestamp": stamps}), min_size=1, max_size=40)


def same(fast: Batch, slow: Batch, body: list[dict]) -> None:
    assert fast.names == slow.names
    assert [fast.label_sets[code] for code in fast.labels] == [slow.label_sets[code] for code in slow.labels]
    np.testing.assert_array_equal(fast.value, slow.value)
    fixed = np.array([item.get("timestamp") not in (None, "now", "-6h") for item in body])
    np.testing.assert_array_equal(fast.ts[fixed], slow.ts[fixed])
    assert (np.abs(fast.ts[~fixed] - slow.ts[~fixed]) < 1000).all()  # relative to now, read a moment apart
    assert fast.state is None and fast.buckets is None


@settings(max_examples=200, deadline=None)
@given(items)
def test_common_items_load_as_the_schema_loads_them(body):
    fast = fast_batch(body, FIELDS)
    assert fast is not None
    same(fast, from_items(WRITE.load(body)), body)


@pytest.mark.parametrize("text", [
    "2024-01-02T03:04:05.123Z", "2024-01-02 03:04:05+05:30", "20240101e12+01", "2024-01-01+01:00", " 2024-01-02Z",
    "2024-01-02T03:04:05", "1704164645", "1704164645123", "1e9", "now", "now-6h", "+2d", "9999-12-31T23:59:59.999Z",
    "0001-01-01T00:00:00+00:01", "2024-02-30T00:00:00Z", "yesterday", ""])
def test_iso_first_reads_every_string_as_parse_instant(text):
    try:
        want = parse_instant(text, 1_704_164_645_123)
    except ValueError as error:
        with pytest.raises(ValueError, match=re.escape(str(error))):
            instant(text, 1_704_164_645_123)
    else:
        assert instant(text, 1_704_164_645_123) == want


def test_missing_times_are_now_and_missing_values_nan():
    batch = load_batch([{"name": "cpu"}, {"name": "cpu", "value": 2, "timestamp": None}], WRITE)
    assert batch.names == ["cpu", "cpu"] and batch.label_sets == [{}] and batch.labels.tolist() == [0, 0]
    assert np.isnan(batch.value[0]) and batch.value[1] == 2.0
    assert batch.ts[0] == batch.ts[1] and abs(int(batch.ts[0]) - int(np.datetime64("now", "ms").astype(int))) < 60_000


@pytest.mark.parametrize("item", [
    {"name": "cpu", "value": "1.5"},  # a numeric string: valid, but the schema's to read
    {"name": "cpu", "value": 1, "state": "on"},
    {"name": "cpu", "value": 1, "timestamp": "now"},
])
def test_valid_items_of_another_shape_are_loaded_too(item):
    body = [{"name": "cpu", "value": 1.0, "timestamp": 1_700_000_000}, item]
    batch = load_batch(body, WRITE)
    assert batch.value.tolist() == [1.0, float(item["value"])]
    assert (batch.state is not None) == ("state" in item)


@pytest.mark.parametrize("item", [
    {"name": "cpu", "value": True}, {"name": "cpu", "value": "abc"}, {"name": "cpu", "value": "Infinity"},
    {"name": "cpu", "value": [1]}, {"name": "cpu", "value": {"a": 1}}, {"name": "9 bad"}, {"value": 1},
    {"name": None}, {"name": ["cpu"]}, {"name": {"a": 1}}, {"name": 5}, {"name": "cpu", "extra": 1},
    {"name": "cpu", "labels": None}, {"name": "cpu", "labels": {"host": 5}}, {"name": "cpu", "labels": {"bad key": "a"}},
    {"name": "cpu", "labels": {"host": "x" * 513}}, {"name": "cpu", "labels": {"host": ["a"]}}, {"name": "cpu", "labels": []},
    {"name": "cpu", "timestamp": "yesterday"}, {"name": "cpu", "timestamp": "2024-01-01T00:00:00"},
    {"name": "cpu", "timestamp": True}, {"name": "cpu", "timestamp": [1]}, {"name": "cpu", "timestamp": {"a": 1}}, {"name": "cpu", "timestamp": 10**15}, {"name": "cpu", "timestamp": -10**11 + 1},
    {"name": "cpu", "timestamp": 2**63}, {"name": "cpu", "timestamp": 2**64 - 1}, {"name": "cpu", "timestamp": 1e300}, "not an item", None,
])
def test_bad_items_get_the_schemas_own_error(item):
    body = [{"name": "cpu", "value": 1.0}, {"name": "cpu", "value": 2.0}, item]
    with pytest.raises(ValidationError) as expected:
        WRITE.load(body)
    with pytest.raises(ValidationError) as got:
        load_batch(body, WRITE)
    assert got.value.messages == expected.value.messages


def test_one_point_of_a_metric_has_no_name_and_unindexed_errors():
    batch = load_batch({"labels": {"host": "a"}, "value": 3, "timestamp": "2023-11-25T12:34:56Z"}, PointSchema())
    assert batch.names is None and batch.ts.tolist() == [1_700_915_696_000] and batch.value.tolist() == [3.0]
    with pytest.raises(ValidationError) as error:
        load_batch({"name": "cpu", "value": 1}, PointSchema())
    assert error.value.messages == {"name": ["Unknown field."]}


def test_label_sets_are_distinct_and_hashed_once():
    body = [{"name": f"m{i % 2}", "labels": {"host": f"h{i % 3}"}, "value": i} for i in range(12)]
    batch = load_batch(body, WRITE)
    assert batch.label_sets == [{"host": "h0"}, {"host": "h1"}, {"host": "h2"}]
    assert batch.labels.tolist() == [i % 3 for i in range(12)] and len(set(batch.series_ids)) == 3


def test_by_name_keeps_first_appearance_order():
    batch = load_batch([{"name": name, "value": 1} for name in ["b", "a", "b", "c", "a"]], WRITE)
    assert [(name, positions.tolist()) for name, positions in batch.by_name()] == [
        ("b", [0, 2]), ("a", [1, 4]), ("c", [3])]
