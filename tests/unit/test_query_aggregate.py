"""Aggregation: every aggregate against pandas on random points, rollups against raw, M4, rate, edge cases."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics_server.query.aggregate import (
    AGGS,
    ROLLUP_AGGS,
    aggregate,
    aggregate_rollups,
    m4,
    m4_rollups,
    rollup,
    sum_series,
)
from metrics_server.query.bins import DAY, HOUR, MINUTE, make_bins

NAN = np.nan
PANDAS_AGGS = {"avg": "mean", "min": "min", "max": "max", "sum": "sum", "count": "count", "first": "first",
               "last": "last", "p50": 0.5, "p90": 0.9, "p99": 0.99}
SETTINGS = settings(max_examples=60, deadline=None)


def close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-6, equal_nan=True)


def in_bins(ts, edges) -> pd.Series:
    """Bin number of each point, found independently of the engine."""
    return pd.Series(np.searchsorted(edges, ts, side="right") - 1)


def pandas_aggregate(ts, values, edges, agg) -> np.ndarray:
    """The reference: pandas groupby over stably time-sorted points inside the edges, NaN for empty bins."""
    frame = pd.DataFrame({"ts": ts, "value": values, "bin": in_bins(ts, edges)})
    frame = frame[(frame.bin >= 0) & (frame.bin < len(edges) - 1)].sort_values("ts", kind="stable")
    groups = frame.groupby("bin")["value"]
    how = PANDAS_AGGS[agg]
    if isinstance(how, float):
        result = groups.quantile(how)
    elif how == "sum":
        result = groups.sum(min_count=1)
    else:
        result = getattr(groups, how)()
    if how == "count":
        result = result.replace(0, NAN)
    return result.reindex(range(len(edges) - 1)).to_numpy(dtype=np.float64)


def pandas_rate(ts, values, edges) -> np.ndarray:
    """Reference rate: diffs of the time-sorted counter, a drop counted as a reset, per bin of the later point."""
    series = pd.Series(values, index=ts).dropna().sort_index(kind="stable")
    previous = series.shift(1)
    increase = series.where(series < previous, series - previous).iloc[1:]
    bins = in_bins(increase.index.to_numpy(), edges)
    inside = ((bins >= 0) & (bins < len(edges) - 1)).to_numpy()
    summed = pd.Series(increase.to_numpy()[inside]).groupby(bins.to_numpy()[inside]).sum()
    seconds = pd.Series(np.diff(edges) / 1000)
    return (summed / seconds).reindex(range(len(edges) - 1)).to_numpy(dtype=np.float64)


@st.composite
def points_and_edges(draw, max_points=150):
    """Random bins and points: gaps, points outside the range, duplicate timestamps, unsorted, some NaN values."""
    step = draw(st.sampled_from([7, 1000, MINUTE, HOUR]))
    n_bins = draw(st.integers(1, 25))
    first = draw(st.integers(-10 ** 12, 2 * 10 ** 12)) // step * step
    edges = first + step * np.arange(n_bins + 1, dtype=np.int64)
    low, high = first - 2 * step, edges[-1] + 2 * step
    spread = draw(st.sampled_from([high - low, step // 2 + 1, 5]))
    origin = draw(st.integers(low, high))
    n = draw(st.integers(0, max_points))
    offsets = draw(st.lists(st.integers(0, spread), min_size=n, max_size=n))
    ts = np.clip(origin + np.array(offsets, dtype=np.int64), low, high)
    finite = st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)
    values = draw(st.lists(st.one_of(finite, finite, finite, st.just(NAN)), min_size=n, max_size=n))
    return ts, np.array(values, dtype=np.float64), edges


@SETTINGS
@given(points_and_edges(), st.sampled_from([agg for agg in AGGS if agg not in ("rate", "anomaly")]))
def test_aggregate_matches_pandas(data, agg):
    ts, values, edges = data
    close(aggregate(ts, values, edges, agg), pandas_aggregate(ts, values, edges, agg))


@SETTINGS
@given(points_and_edges())
def test_rate_matches_pandas(data):
    ts, values, edges = data
    close(aggregate(ts, np.abs(values), edges, "rate"), pandas_rate(ts, np.abs(values), edges))


@SETTINGS
@given(points_and_edges(), st.sampled_from(["avg", "min", "max", "sum", "count"]))
def test_aggregate_matches_pandas_resample_on_minutes(data, agg):
    ts, values, _ = data
    start, end = (int(ts.min()), int(ts.max()) + 1) if len(ts) else (0, 1)
    edges = make_bins(start, end, granularity="minute").edges
    series = pd.Series(values, index=pd.to_datetime(ts, unit="ms", utc=True)).sort_index(kind="stable")
    resampled = series.resample("1min", origin="epoch")
    expected = resampled.sum(min_count=1) if agg == "sum" else getattr(resampled, PANDAS_AGGS[agg])()
    expected = expected.replace(0, NAN) if agg == "count" else expected
    index = pd.to_datetime(edges[:-1], unit="ms", utc=True).as_unit(expected.index.unit)
    close(aggregate(ts, values, edges, agg), expected.reindex(index).to_numpy(dtype=np.float64))


@SETTINGS
@given(points_and_edges())
def test_m4_matches_pandas(data):
    ts, values, edges = data
    expected = [pandas_aggregate(ts, values, edges, agg) for agg in ("min", "max", "first", "last")]
    for part, reference in zip(m4(ts, values, edges), expected):
        close(part, reference)


@st.composite
def points_in_hours(draw):
    """Random points over a few UTC hours, with their hour edges and the minute edges nested in them."""
    first = draw(st.integers(0, 10 ** 6)) * HOUR
    hours = draw(st.integers(1, 4))
    n = draw(st.integers(0, 200))
    ts = first + np.array(draw(st.lists(st.integers(-HOUR, (hours + 1) * HOUR), min_size=n, max_size=n)),
                          dtype=np.int64)
    if n and draw(st.booleans()):
        ts = np.repeat(ts[: n // 2 + 1], 2)[:n]
    values = np.array(draw(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=n, max_size=n)))
    hour_edges = make_bins(first, first + hours * HOUR, granularity="hour").edges
    minute_edges = make_bins(first, first + hours * HOUR, granularity="minute").edges
    return ts, values, hour_edges, minute_edges


@SETTINGS
@given(points_in_hours(), st.sampled_from(ROLLUP_AGGS))
def test_rollups_give_what_raw_gives(data, agg):
    ts, values, hour_edges, minute_edges = data
    rows = rollup(ts, values, minute_edges)
    close(aggregate_rollups(rows, hour_edges, agg), aggregate(ts, values, hour_edges, agg))


@SETTINGS
@given(points_in_hours())
def test_m4_from_rollups_gives_what_raw_gives(data):
    ts, values, hour_edges, minute_edges = data
    for from_rows, from_raw in zip(m4_rollups(rollup(ts, values, minute_edges), hour_edges),
                                   m4(ts, values, hour_edges)):
        close(from_rows, from_raw)


def test_rollup_rows_of_non_empty_bins():
    ts = np.array([125, 5, 1, 30, 1, 12])
    values = np.array([9.0, 1.0, 2.0, 7.0, 4.0, 5.0])
    rows = rollup(ts, values, np.array([0, 10, 20, 30, 40]))
    assert {key: value.tolist() for key, value in rows.items()} == {
        "start": [0, 10, 30], "count": [3, 1, 1], "sum": [7.0, 5.0, 7.0], "min": [1.0, 5.0, 7.0],
        "max": [4.0, 5.0, 7.0], "first": [2.0, 5.0, 7.0], "last": [1.0, 5.0, 7.0], "first_ts": [1, 12, 30],
        "last_ts": [5, 12, 30]}
    assert rows["count"].dtype == np.int64 and rows["first_ts"].dtype == np.int64


def test_small_example_every_aggregate():
    ts = np.array([5, 1, 3, 1, 12, 15, 30])
    values = np.array([1.0, 2.0, 3.0, 4.0, 5.0, NAN, 7.0])
    edges = np.array([0, 10, 20, 30])
    expected = {"avg": [2.5, 5, NAN], "min": [1, 5, NAN], "max": [4, 5, NAN], "sum": [10, 5, NAN],
                "count": [4, 1, NAN], "first": [2, 5, NAN], "last": [1, 5, NAN], "p50": [2.5, 5, NAN],
                "p90": [3.7, 5, NAN], "p99": [3.97, 5, NAN], "rate": [600, 400, NAN]}
    for agg, want in expected.items():
        close(aggregate(ts, values, edges, agg), want)


def test_empty_bins_are_nan_never_zero():
    edges = np.array([0, 10, 20, 30])
    for agg in AGGS:
        result = aggregate(np.array([], dtype=np.int64), np.array([]), edges, agg)
        assert result.shape == (3,) and np.isnan(result).all(), agg


def test_rate_counts_a_reset_as_the_new_value():
    ts = np.arange(0, 60_000, 10_000)
    counter = np.array([100.0, 110, 130, 5, 25, 25])
    # increases: 10, 20, 5 (reset), 20, 0 over one minute
    close(aggregate(ts, counter, np.array([0, 60_000]), "rate"), [55 / 60])


def test_rate_uses_the_point_before_the_bin_and_needs_a_pair():
    ts = np.array([-5_000, 5_000, 25_000])
    counter = np.array([10.0, 20.0, 50.0])
    close(aggregate(ts, counter, np.array([0, 10_000, 20_000, 30_000]), "rate"), [1.0, NAN, 3.0])
    close(aggregate(np.array([5_000]), np.array([1.0]), np.array([0, 10_000]), "rate"), [NAN])


def test_rate_of_a_flat_counter_is_zero_not_a_gap():
    close(aggregate(np.array([1_000, 2_000]), np.array([3.0, 3.0]), np.array([0, 10_000]), "rate"), [0.0])


def test_rate_divides_by_each_bins_own_length():
    bins = make_bins(0, 3 * DAY, granularity="day", tz="Europe/Berlin")
    ts = np.array([bins.edges[0], bins.edges[1] - 1])
    result = aggregate(ts, np.array([0.0, 864.0]), bins.edges, "rate")
    close(result[0], 864.0 / ((bins.edges[1] - bins.edges[0]) / 1000))


def test_first_and_last_break_timestamp_ties_by_input_order():
    ts = np.array([3, 3, 1, 1])
    values = np.array([10.0, 20.0, 30.0, 40.0])
    close(aggregate(ts, values, np.array([0, 10]), "first"), [30.0])
    close(aggregate(ts, values, np.array([0, 10]), "last"), [20.0])


def test_percentiles_and_rate_cannot_come_from_rollups():
    rows = rollup(np.array([1, 2]), np.array([1.0, 2.0]), np.array([0, 10]))
    for agg in ("p50", "p90", "p99", "rate"):
        with pytest.raises(ValueError, match="cannot be computed from rollups"):
            aggregate_rollups(rows, np.array([0, 10]), agg)


def test_unknown_aggregate_is_refused():
    with pytest.raises(ValueError, match="'median' is unknown; expected one of avg, min"):
        aggregate(np.array([1]), np.array([1.0]), np.array([0, 10]), "median")


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="one length"):
        aggregate(np.array([1, 2]), np.array([1.0]), np.array([0, 10]), "avg")


def test_rollups_from_rows_read_as_lists():
    rows = {"start": [0, 60_000], "count": [2, 1], "sum": [3.0, 4.0], "min": [1.0, 4.0], "max": [2.0, 4.0],
            "first": [1.0, 4.0], "last": [2.0, 4.0], "first_ts": [5, 60_001], "last_ts": [50, 60_001]}
    edges = np.array([0, HOUR])
    close(aggregate_rollups(rows, edges, "avg"), [7 / 3])
    close(aggregate_rollups(rows, edges, "last"), [4.0])
    close(m4_rollups(rows, edges), [[1.0], [4.0], [1.0], [4.0]])


def test_sum_series_treats_nan_as_missing():
    close(sum_series([np.array([1.0, NAN, NAN]), np.array([2.0, 3.0, NAN])]), [3.0, 3.0, NAN])
    close(sum_series([np.array([NAN, 1.5])]), [NAN, 1.5])
    with pytest.raises(ValueError, match="at least one series"):
        sum_series([])
