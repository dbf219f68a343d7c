"""Bin edges: alignment, coverage, automatic and width-fitted steps, DST-correct local days, rollup choice."""
import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics_server.query.bins import DAY, HOUR, MINUTE, NICE_STEPS, Bins, bin_index, make_bins, whole_hours
from metrics_server.query.timeparse import parse_instant

T0 = parse_instant("2024-01-02T03:04:05.123Z", 0)


def utc(text: str) -> int:
    return parse_instant(text, 0)


def local_times(bins: Bins, tz: str) -> list[str]:
    return [str(moment) for moment in pd.to_datetime(bins.edges, unit="ms", utc=True).tz_convert(tz)]


def assert_covers(bins: Bins, start: int, end: int) -> None:
    """The first bin holds start, the last holds end-1, edges strictly ascend."""
    assert bins.edges.dtype == np.int64
    assert np.all(np.diff(bins.edges) > 0)
    assert bins.edges[0] <= start < bins.edges[1]
    assert bins.edges[-2] <= end - 1 < bins.edges[-1]


@pytest.mark.parametrize("granularity, step", [("minute", MINUTE), ("hour", HOUR), ("day", DAY)])
def test_granularity_aligns_to_utc_boundaries(granularity, step):
    bins = make_bins(T0, T0 + 3 * DAY + 17, granularity=granularity)
    assert bins.step_ms == step and bins.name == granularity
    assert np.all(bins.edges % step == 0)
    assert np.all(np.diff(bins.edges) == step)
    assert_covers(bins, T0, T0 + 3 * DAY + 17)


def test_exact_boundaries_give_no_extra_bin():
    start = utc("2024-01-02T00:00:00Z")
    bins = make_bins(start, start + 3 * HOUR, granularity="hour")
    assert bins.starts.tolist() == [start, start + HOUR, start + 2 * HOUR]
    assert len(bins) == 3


def test_one_millisecond_range_is_one_bin():
    assert len(make_bins(T0, T0 + 1, granularity="day")) == 1


@pytest.mark.parametrize("span, expected", [
    (1000 * MINUTE, "minute"), (1500 * MINUTE, "minute"), (1501 * MINUTE, "hour"), (62 * DAY, "hour"),
    (63 * DAY, "day"), (3 * 365 * DAY, "day"),
])
def test_auto_picks_the_finest_of_minute_hour_day_within_1500_bins(span, expected):
    start = utc("2024-01-01T00:00:00Z")
    bins = make_bins(start, start + span, granularity="auto")
    assert bins.name == expected
    assert len(bins) <= 1500


def test_auto_days_follow_the_time_zone():
    bins = make_bins(utc("2024-01-01T00:00:00Z"), utc("2024-06-01T00:00:00Z"), granularity="auto",
                     tz="Europe/Berlin")
    assert bins.name == "day" and bins.step_ms is None
    assert all(text.endswith("00:00:00+01:00") or text.endswith("00:00:00+02:00")
               for text in local_times(bins, "Europe/Berlin"))


def test_berlin_spring_forward_day_lasts_23_hours():
    bins = make_bins(utc("2024-03-30T12:00:00Z"), utc("2024-04-01T12:00:00Z"), granularity="day",
                     tz="Europe/Berlin")
    assert bins.step_ms is None and bins.name == "day"
    assert local_times(bins, "Europe/Berlin") == [
        "2024-03-30 00:00:00+01:00", "2024-03-31 00:00:00+01:00", "2024-04-01 00:00:00+02:00",
        "2024-04-02 00:00:00+02:00"]
    assert (np.diff(bins.edges) // HOUR).tolist() == [24, 23, 24]


def test_berlin_fall_back_day_lasts_25_hours():
    bins = make_bins(utc("2024-10-26T12:00:00Z"), utc("2024-10-28T12:00:00Z"), granularity="day",
                     tz="Europe/Berlin")
    assert (np.diff(bins.edges) // HOUR).tolist() == [24, 25, 24]


def test_local_day_holds_start_by_local_date():
    start = utc("2024-01-01T23:30:00Z")  # already 2 January in Berlin
    bins = make_bins(start, start + 1, granularity="day", tz="Europe/Berlin")
    assert bins.edges.tolist() == [utc("2024-01-01T23:00:00Z"), utc("2024-01-02T23:00:00Z")]


def test_day_starting_at_a_dst_gap_starts_at_the_first_existing_instant():
    bins = make_bins(utc("2024-03-09T12:00:00Z"), utc("2024-03-11T12:00:00Z"), granularity="day",
                     tz="America/Havana")
    assert local_times(bins, "America/Havana")[1:3] == ["2024-03-10 01:00:00-04:00", "2024-03-11 00:00:00-04:00"]
    assert (np.diff(bins.edges) // HOUR).tolist() == [24, 23, 24]


def test_a_skipped_date_gets_no_bin():
    bins = make_bins(utc("2011-12-28T00:00:00Z"), utc("2011-12-31T12:00:00Z"), granularity="day",
                     tz="Pacific/Apia")
    assert np.all(np.diff(bins.edges) == DAY)
    assert "2011-12-30" not in " ".join(local_times(bins, "Pacific/Apia"))


@settings(max_examples=40, deadline=None)
@given(st.integers(utc("2000-01-01T00:00:00Z"), utc("2040-01-01T00:00:00Z")), st.integers(1, 400 * DAY),
       st.sampled_from(["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]))
def test_local_days_start_at_local_midnight(start, span, tz):
    bins = make_bins(start, start + span, granularity="day", tz=tz)
    assert_covers(bins, start, start + span)
    local = pd.to_datetime(bins.edges, unit="ms", utc=True).tz_convert(tz)
    assert np.all(local.hour == 0) and np.all(local.minute == 0)
    assert np.all((np.diff(bins.edges) >= 23 * HOUR) & (np.diff(bins.edges) <= 25 * HOUR))


def test_hour_bins_stay_utc_aligned_in_any_zone():
    bins = make_bins(T0, T0 + 5 * HOUR, granularity="hour", tz="Asia/Kolkata")
    assert bins.step_ms == HOUR and np.all(bins.edges % HOUR == 0)


@settings(max_examples=150, deadline=None)
@given(st.integers(-10 ** 12, 2 * 10 ** 12), st.integers(1, 20 * 365 * DAY), st.integers(10, 4000))
def test_width_bins_fit_and_are_the_finest_that_fit(start, span, width):
    bins = make_bins(start, start + span, width=width)
    assert len(bins) <= 0.8 * width
    assert 5 * len(bins) <= 4 * width
    assert_covers(bins, start, start + span)
    assert np.all(bins.edges % bins.step_ms == 0)
    steps = [step for _, step in NICE_STEPS]
    if bins.step_ms in steps and bins.step_ms != steps[0]:
        finer = steps[steps.index(bins.step_ms) - 1]
        assert (start + span - 1) // finer - start // finer + 1 > 0.8 * width


@pytest.mark.parametrize("span, width, name", [
    (HOUR, 1000, "5s"), (HOUR, 100, "1m"), (DAY, 1000, "2m"), (DAY, 300, "10m"), (7 * DAY, 1000, "15m"),
    (30 * DAY, 1000, "1h"), (365 * DAY, 1000, "12h"), (365 * DAY, 100, "7d"), (10 * 365 * DAY, 100, "56d"),
    (10, 10, "1s"),
])
def test_width_names_the_step(span, width, name):
    start = utc("2024-01-01T00:00:00Z")
    bins = make_bins(start, start + span, width=width)
    assert bins.name == name
    assert len(bins) <= 0.8 * width


def test_day_width_steps_align_to_utc_midnight():
    bins = make_bins(T0, T0 + 300 * DAY, width=200)
    assert bins.step_ms >= DAY and np.all(bins.edges % DAY == 0)


@pytest.mark.parametrize("kwargs, message", [
    ({"granularity": "hour", "width": 100}, "exactly one of granularity or width"),
    ({}, "exactly one of granularity or width"),
    ({"granularity": "week"}, "granularity must be one of"),
    ({"width": 9}, "width must be an integer"),
    ({"width": 100.5}, "width must be an integer"),
    ({"width": True}, "width must be an integer"),
    ({"granularity": "day", "tz": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
    ({"granularity": "hour", "tz": "../etc/passwd"}, "unknown time zone"),
])
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_bins(T0, T0 + DAY, **kwargs)


@pytest.mark.parametrize("start, end", [(T0, T0), (T0 + 1, T0)])
def test_empty_or_reversed_range_is_refused(start, end):
    with pytest.raises(ValueError, match="start must be before end"):
        make_bins(start, end, granularity="hour")


@pytest.mark.parametrize("kwargs, span", [
    ({"granularity": "minute"}, 100 * DAY), ({"granularity": "day", "tz": "Europe/Berlin"}, 300 * 365 * DAY),
    ({"width": 250_000}, 2 * DAY),
])
def test_too_many_bins_are_refused(kwargs, span):
    with pytest.raises(ValueError, match="too many bins"):
        make_bins(0, span, **kwargs)


def test_bins_value_object():
    bins = make_bins(0, 3 * HOUR, granularity="hour")
    assert len(bins) == 3
    assert bins.starts.tolist() == [0, HOUR, 2 * HOUR]
    assert bins == Bins(np.array([0, HOUR, 2 * HOUR, 3 * HOUR]), HOUR, "hour")
    assert bins != Bins(np.array([0, HOUR, 2 * HOUR, 3 * HOUR]), HOUR, "1h")
    with pytest.raises(dataclasses.FrozenInstanceError):
        bins.name = "minute"
    with pytest.raises(ValueError):
        bins.edges[0] = 5


@pytest.mark.parametrize("kwargs, span, nests", [
    ({"granularity": "minute"}, HOUR, False),
    ({"granularity": "hour"}, DAY, True),
    ({"granularity": "day"}, 10 * DAY, True),
    ({"granularity": "day", "tz": "Europe/Berlin"}, 10 * DAY, True),
    ({"granularity": "day", "tz": "Asia/Kolkata"}, 10 * DAY, False),
    ({"granularity": "day", "tz": "Asia/Kathmandu"}, 10 * DAY, False),
    ({"width": 1000}, HOUR, False),
    ({"width": 100}, HOUR, False),
    ({"width": 20}, DAY, True),
    ({"width": 100}, 365 * DAY, True),
])
def test_hourly_rollups_nest_only_in_bins_of_whole_utc_hours(kwargs, span, nests):
    start = utc("2024-03-01T00:00:00Z")
    bins = make_bins(start, start + span, **kwargs)
    assert whole_hours(bins) == nests


def test_bin_index_marks_outside_points():
    edges = np.array([10, 20, 30])
    assert bin_index(np.array([9, 10, 19, 20, 29, 30, 100]), edges).tolist() == [-1, 0, 0, 1, 1, -1, -1]

