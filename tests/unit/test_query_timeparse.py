"""Time parsing: every accepted spelling of an instant, the refusals, and ISO formatting."""
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics_server.query.timeparse import MAX_MS, MIN_MS, format_iso_array, parse_instant

NOW = 1_704_164_645_123  # 2024-01-02T03:04:05.123Z
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("value, expected", [
    ("2024-01-02T03:04:05.123Z", NOW),
    ("2024-01-02T03:04:05Z", NOW - 123),
    ("2024-01-02T05:04:05.123+02:00", NOW),
    ("2024-01-01T22:04:05.123-05:00", NOW),
    ("2024-01-02T03:04:05.123456Z", NOW),
    (" 2024-01-02T03:04:05.123z ", NOW),
    (1_704_164_645, NOW - 123),
    (1_704_164_645.123, NOW),
    (NOW, NOW),
    (float(NOW), NOW),
    (np.int64(NOW), NOW),
    (np.float64(1_704_164_645.5), NOW - 123 + 500),
    ("1704164645", NOW - 123),
    ("1704164645.123", NOW),
    ("1704164645123", NOW),
    ("1.704164645123e12", NOW),
    (0, 0),
    (-86_400, -86_400_000),
    ("now", NOW),
    ("NOW", NOW),
    ("-6h", NOW - 6 * 3_600_000),
    ("now-6h", NOW - 6 * 3_600_000),
    ("now - 15m", NOW - 15 * 60_000),
    ("-30s", NOW - 30_000),
    ("-7d", NOW - 7 * 86_400_000),
    ("-2w", NOW - 14 * 86_400_000),
    ("+1h", NOW + 3_600_000),
    ("now+1h", NOW + 3_600_000),
])
def test_parse_instant_accepts(value, expected):
    assert parse_instant(value, NOW) == expected


def test_parse_instant_returns_python_int():
    assert type(parse_instant(np.int64(NOW), NOW)) is int
    assert type(parse_instant("2024-01-02T03:04:05Z", NOW)) is int


def test_epoch_threshold_between_seconds_and_milliseconds():
    assert parse_instant(99_999_999_999, 0) == 99_999_999_999_000
    assert parse_instant(100_000_000_000, 0) == 100_000_000_000
    assert parse_instant(-100_000_000_000, 0) == -100_000_000_000


@pytest.mark.parametrize("value", ["yesterday", "", "6h", "now-", "-6y", "2024-13-01T00:00:00Z", "1e",
                                   "nan", "inf", float("nan"), float("inf"), True, None, [1], "--6h"])
def test_parse_instant_refuses_with_what_was_expected(value):
    with pytest.raises(ValueError, match="expected ISO 8601 with offset, epoch seconds/ms, 'now' or a relative"):
        parse_instant(value, NOW)


def test_parse_instant_message_names_the_input():
    with pytest.raises(ValueError) as error:
        parse_instant("yesterday", NOW)
    assert str(error.value) == ("expected ISO 8601 with offset, epoch seconds/ms, 'now' or a relative time "
                                "like -6h; got 'yesterday'")


@pytest.mark.parametrize("value", ["2024-01-02T03:04:05", "2024-01-02", "2024-01-02 03:04"])
def test_naive_iso_is_refused(value):
    with pytest.raises(ValueError, match="without offset"):
        parse_instant(value, NOW)


@pytest.mark.parametrize("value", ["1e30", 10 ** 20, "-1e17", "+999999w"])
def test_out_of_range_is_refused(value):
    with pytest.raises(ValueError, match="out of range"):
        parse_instant(value, NOW)


def test_format_iso_array_shows_milliseconds_only_when_not_whole_seconds():
    assert format_iso_array([NOW, NOW - 123, 0, -1]) == [
        "2024-01-02T03:04:05.123Z", "2024-01-02T03:04:05Z", "1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999Z"]


def test_format_iso_array_is_a_list_of_strings():
    formatted = format_iso_array(np.array([NOW, NOW - 123, 60_000], dtype=np.int64))
    assert formatted == ["2024-01-02T03:04:05.123Z", "2024-01-02T03:04:05Z", "1970-01-01T00:01:00Z"]
    assert all(type(text) is str for text in formatted)
    assert format_iso_array([]) == []


@settings(max_examples=200)
@given(st.integers(MIN_MS, MAX_MS))
def test_format_then_parse_round_trips(ms):
    text = format_iso_array([ms])[0]
    assert parse_instant(text, 0) == ms
    reference = (EPOCH + timedelta(milliseconds=ms)).isoformat(timespec="milliseconds")
    assert text == reference.replace(".000+00:00", "Z").replace("+00:00", "Z")
