"""Bounded work (issue 10) in the pure parts: huge numbers refused before conversion, the query budget, the
deadline, and aggregation across series as a fold with gaps kept."""
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics_server.limits import QueryLimits, QueryTimeout, TooCostly, check_deadline, deadline
from metrics_server.model import ROLLUP_AGGS
from metrics_server.query.aggregate import ACROSS, Across, aggregate, by_series, points_as_rows, rollup
from metrics_server.query.timeparse import parse_instant


@pytest.mark.parametrize("value", ["1e400000", "-1e400000", "1e999999999", "9" * 100_000,
                                   "-" + "9" * 5000 + "h", 10 ** 5000, -(10 ** 400), "1e16", "1" + "0" * 15],
                         ids=lambda value: f"{type(value).__name__}-{len(str(value)) if isinstance(value, str) else 'int'}")
def test_huge_times_are_refused_before_any_conversion(value):
    started = time.perf_counter()
    with pytest.raises(ValueError, match="out of range|expected"):
        parse_instant(value, 0)
    assert time.perf_counter() - started < 0.5  # converting these took 42 s (issue 10): far below it, never flaky


def test_the_largest_epochs_still_parse():
    assert parse_instant("253402300799999", 0) == 253_402_300_799_999
    assert parse_instant("-62135596800", 0) == -62_135_596_800_000
    assert parse_instant("1.7e12", 0) == 1_700_000_000_000
    started = time.perf_counter()
    assert parse_instant("1e-999999999", 0) == 0
    assert time.perf_counter() - started < 0.5  # converting these took 42 s (issue 10): far below it, never flaky


def test_a_costly_query_is_refused_naming_what_to_narrow():
    limits = QueryLimits(max_series=10, max_cells=1000, max_reads=100)
    with pytest.raises(TooCostly, match="11 series.*across=sum") as refused:
        limits.check_lines("metric.0", 11, 11)
    assert refused.value.status == 422
    with pytest.raises(TooCostly, match="max_query_cells"):
        limits.check_cells(10, 101)
    with pytest.raises(TooCostly, match="read 101 Cassandra partitions"):
        limits.check_reads(101)
    limits.check_lines("metric.0", 10, 20_000)
    limits.check_cells(10, 100)
    limits.check_reads(100)


def test_work_past_its_deadline_stops_with_retry_after():
    check_deadline()  # no deadline: nothing to stop
    with deadline(0.05):
        check_deadline()
        time.sleep(0.06)
        with pytest.raises(QueryTimeout) as stopped:
            check_deadline()
    assert stopped.value.status == 503 and stopped.value.retry_after
    check_deadline()


def test_an_inner_deadline_cannot_extend_an_outer_one():
    with deadline(0.01), deadline(60):
        time.sleep(0.02)
        with pytest.raises(QueryTimeout):
            check_deadline()


lines = st.lists(st.lists(st.one_of(st.none(), st.floats(-1e9, 1e9)), min_size=6, max_size=6), min_size=1,
                 max_size=8)


@settings(max_examples=60, deadline=None)
@given(series=lines, how=st.sampled_from(["sum", "avg", "min", "max", "count"]))
def test_fold_across_series_equals_numpy_per_bin_with_gaps_kept(series, how):
    stack = np.array([[np.nan if value is None else value for value in line] for line in series])
    fold = Across(how, 6)
    for line in stack:
        fold.add(line)
    reduce = {"sum": np.sum, "avg": np.mean, "min": np.min, "max": np.max, "count": len}[how]
    want = []
    for column in stack.T:
        present = column[~np.isnan(column)]
        want.append(float(reduce(present)) if len(present) else np.nan)
    np.testing.assert_allclose(fold.result(), want, rtol=1e-9, atol=1e-6)
    assert fold.series == len(series)


def test_unknown_fold_is_refused():
    with pytest.raises(ValueError, match="across must be one of"):
        Across("median", 3)


many_series = st.lists(st.lists(st.tuples(st.integers(-5, 130), st.one_of(st.none(), st.floats(-1e6, 1e6))),
                                max_size=12), min_size=1, max_size=10)


@settings(max_examples=80, deadline=None)
@given(series=many_series, agg=st.sampled_from(ROLLUP_AGGS), how=st.sampled_from(ACROSS))
def test_binning_many_series_at_once_folds_as_one_at_a_time(series, agg, how):
    edges = np.arange(0, 121, 20)
    one_at_a_time, at_once = Across(how, 6), Across(how, 6)
    columns = [], [], []
    for position, points in enumerate(series):
        times = sorted({ts for ts, _ in points})  # a series' points in time order, one per time
        values = [dict(points)[ts] for ts in times]
        values = np.array([np.nan if value is None else value for value in values])
        one_at_a_time.add(aggregate(np.array(times, dtype=np.int64), values, edges, agg))
        for column, part in zip(columns, ([position] * len(times), times, values)):
            column.extend(part)
    values = np.array(columns[2], dtype=np.float64)
    present = ~np.isnan(values)
    rows = points_as_rows(np.array(columns[1], dtype=np.int64)[present], values[present])
    owner = np.array(columns[0], dtype=np.int64)[present]
    cells = by_series(owner, rows, edges, agg)
    at_once.add_cells(*cells[1:])
    np.testing.assert_allclose(at_once.result(), one_at_a_time.result(), rtol=1e-9, atol=1e-6)
    fine = [rollup(rows["start"][owner == at], rows["sum"][owner == at], np.arange(-10, 141, 10))
            for at in range(len(series))]  # rows of 10 units nested in the bins of 20
    nested = {key: np.concatenate([part[key] for part in fine]) for key in fine[0]}
    owners = np.concatenate([np.full(len(part["start"]), at) for at, part in enumerate(fine)])
    from_rollups = Across(how, 6)
    from_rollups.add_cells(*by_series(owners, nested, edges, agg)[1:])
    np.testing.assert_allclose(from_rollups.result(), one_at_a_time.result(), rtol=1e-9, atol=1e-6)
