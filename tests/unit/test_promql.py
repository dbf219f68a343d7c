"""The PromQL engine on explicit samples and timestamps; expected values worked out by hand from Prometheus
2.42's formulas (promql/functions.go, engine.go). The real-Prometheus comparison is
tests/protocols/test_promql_reference.py."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics_server import promql
from metrics_server.query.aggregate import rollup

S = 1000  # ms


def source_of(series: list[tuple[dict, list[tuple[float, float]]]]):
    """A source over fixed samples: (labels, [(seconds, value), ...]) per series."""
    def source(matchers, start_ms, end_ms):
        out = []
        for labels, samples in series:
            if all(m.matches(labels.get(m.name, "")) for m in matchers):
                times = np.array([int(t * S) for t, _ in samples], dtype=np.int64)
                values = np.array([v for _, v in samples], dtype=float)
                keep = (times >= start_ms) & (times <= end_ms)
                out.append(promql.RawSeries(labels, times[keep], values[keep]))
        return out
    return source


COUNTER = source_of([
    ({"__name__": "requests_total", "job": "api", "instance": "a"}, [(10, 10), (20, 20), (30, 30), (40, 5), (50, 15)]),
    ({"__name__": "requests_total", "job": "api", "instance": "b"}, [(10, 1), (20, 2), (30, 3), (40, 4), (50, 5)]),
    ({"__name__": "requests_total", "job": "db", "instance": "c"}, [(10, 100), (50, 300)]),
    ({"__name__": "limit", "job": "api"}, [(0, 50)]),
    ({"__name__": "limit", "job": "db"}, [(0, 1000)]),
])


def instant(expr, at_s, source=COUNTER):
    return {tuple(sorted(labels.items())): value for labels, value in promql.evaluate_instant(expr, at_s * S, source)}


def test_one_plus_one_is_the_scalar_grafana_tests_a_data_source_with():
    result = promql.instant_query("1+1", 5 * S, COUNTER)
    assert result.result_type == "scalar"
    assert result.series[0][2][0] == 2


def test_lookback_is_five_minutes_closed_at_its_start():
    source = source_of([({"__name__": "g"}, [(60, 7.0)])])
    assert instant("g", 360, source) == {(("__name__", "g"),): 7.0}
    assert promql.evaluate_instant("g", 360 * S + 1, source) == []
    assert promql.evaluate_instant("g", 59, source) == []


def test_rate_adds_back_a_counter_reset_and_extrapolates_to_the_window_edges():
    # a: 10, 20, 30, reset to 5, 15 → increase 35 over 40 s sampled; 10 s to each edge < 1.1 × 10 s spacing,
    # so extrapolated to the full 60 s: 35 × 60/40 = 52.5, rate 52.5 / 60
    a = (("instance", "a"), ("job", "api"))
    assert instant("increase(requests_total[1m])", 60)[a] == pytest.approx(52.5, rel=1e-12)
    assert instant("rate(requests_total[1m])", 60)[a] == pytest.approx(0.875, rel=1e-12)


def test_rate_extrapolates_only_half_a_spacing_past_a_far_edge_and_stops_at_zero():
    # samples 1, 2, 3 at 100, 110, 120 s; window [90, 150]: to start 10 s, but the counter would reach zero
    # 10 s before the first sample (not less than 10), to end 30 s > 11 → half a spacing: 20 + 10 + 5 = 35
    source = source_of([({"__name__": "c_total"}, [(100, 1), (110, 2), (120, 3)])])
    assert instant("increase(c_total[60s])", 150, source)[()] == pytest.approx(2 * 35 / 20, rel=1e-12)
    # a counter starting at 0.5: zero is 5 s before the first sample, nearer than the window's start
    source = source_of([({"__name__": "c_total"}, [(100, 0.5), (110, 1.5), (120, 2.5)])])
    assert instant("increase(c_total[60s])", 150, source)[()] == pytest.approx(2 * (20 + 5 + 5) / 20, rel=1e-12)


def test_rate_needs_two_samples_in_the_window():
    assert instant("rate(requests_total{instance='c'}[30s])", 50) == {}
    assert instant("rate(requests_total{instance='c'}[40s])", 50) != {}


def test_irate_uses_the_last_two_samples_and_a_drop_as_a_reset():
    a = (("instance", "a"), ("job", "api"))
    assert instant("irate(requests_total[1m])", 60)[a] == pytest.approx(1.0)
    assert instant("irate(requests_total[1m])", 45)[a] == pytest.approx(0.5)


def test_over_time_functions():
    b = {"__name__": "requests_total", "job": "api", "instance": "b"}
    sel = 'requests_total{instance="b"}[30s]'  # at 50: samples at 20, 30, 40, 50 (the window is closed)
    assert instant(f"sum_over_time({sel})", 50) == {(("instance", "b"), ("job", "api")): 14}
    assert instant(f"count_over_time({sel})", 50) == {(("instance", "b"), ("job", "api")): 4}
    assert instant(f"avg_over_time({sel})", 50) == {(("instance", "b"), ("job", "api")): 3.5}
    assert instant(f"min_over_time({sel})", 50) == {(("instance", "b"), ("job", "api")): 2}
    assert instant(f"max_over_time({sel})", 50) == {(("instance", "b"), ("job", "api")): 5}
    assert instant(f"last_over_time({sel})", 50) == {tuple(sorted(b.items())): 5}  # keeps the metric name


def test_aggregations_by_and_without_drop_the_name():
    assert instant("sum by (job) (requests_total)", 50) == {(("job", "api"),): 20, (("job", "db"),): 300}
    assert instant("sum without (instance) (requests_total)", 50) == {(("job", "api"),): 20, (("job", "db"),): 300}
    assert instant("count(requests_total)", 50) == {(): 3}
    assert instant("avg by (job) (requests_total)", 50)[(("job", "api"),)] == 10
    assert instant("max(requests_total)", 50) == {(): 300}
    assert instant("min by (job) (requests_total)", 50)[(("job", "api"),)] == 5


def test_regex_matchers_are_anchored():
    assert len(instant('requests_total{job=~"ap"}', 50)) == 0
    assert len(instant('requests_total{job=~"ap."}', 50)) == 2
    assert len(instant('requests_total{job!~"api|x"}', 50)) == 1
    assert len(instant('requests_total{job!="api"}', 50)) == 1


def test_arithmetic_with_scalars_and_between_vectors_on_matching_labels():
    assert instant('requests_total{instance="b"} * 2 + 1', 50) == {(("instance", "b"), ("job", "api")): 11}
    assert instant('2 - requests_total{instance="b"}', 50) == {(("instance", "b"), ("job", "api")): -3}
    # by job on both sides: one-to-one on all labels
    assert instant("sum by (job) (requests_total) / on(job) limit", 50) == {
        (("job", "api"),): 0.4, (("job", "db"),): 0.3}
    assert instant("sum by (job) (requests_total) / limit", 50) == {(("job", "api"),): 0.4, (("job", "db"),): 0.3}
    # many-to-one keeps the many side's labels (less the name)
    assert instant("requests_total / on(job) group_left limit", 50) == {
        (("instance", "a"), ("job", "api")): 15 / 50, (("instance", "b"), ("job", "api")): 5 / 50,
        (("instance", "c"), ("job", "db")): 0.3}


def test_comparisons_filter_and_bool_gives_zero_or_one():
    assert instant("requests_total > 10", 50) == {
        (("__name__", "requests_total"), ("instance", "a"), ("job", "api")): 15,
        (("__name__", "requests_total"), ("instance", "c"), ("job", "db")): 300}
    assert instant('requests_total{instance="b"} > bool 10', 50) == {(("instance", "b"), ("job", "api")): 0}
    assert instant("1 < bool 2", 50) == {(): 1}


def test_many_to_many_matching_is_refused_like_prometheus():
    with pytest.raises(promql.EvaluationError, match="many-to-many"):
        promql.evaluate_instant("limit + on() requests_total", 50 * S, COUNTER)
    with pytest.raises(promql.EvaluationError, match="same labelset"):
        promql.evaluate_instant("rate({job='api'}[1m])", 50 * S, source_of([
            ({"__name__": "x", "job": "api"}, [(10, 1), (20, 2)]),
            ({"__name__": "y", "job": "api"}, [(10, 1), (20, 2)])]))


def test_unsupported_functions_are_named():
    with pytest.raises(promql.Unsupported, match=r"histogram_count\(\)") as error:
        promql.parse("histogram_count(m)")  # native histograms are not stored
    assert error.value.status == 422
    with pytest.raises(promql.ParseError):
        promql.parse("sum(")


def test_range_query_steps_and_gaps():
    source = source_of([({"__name__": "g", "k": "v"}, [(0, 1), (10, 2), (400, 3)])])
    result = promql.range_query("g", 0, 700 * S, 100 * S, source)
    assert result.result_type == "matrix"
    [(labels, times, values)] = result.series
    assert labels == {"__name__": "g", "k": "v"}
    # 0..300 see the sample at 10 (≤ 5 min old), 400..700 the one at 400; nothing is missing
    assert list(times // S) == [0, 100, 200, 300, 400, 500, 600, 700]
    assert list(values) == [1, 2, 2, 2, 3, 3, 3, 3]
    with pytest.raises(promql.PromQLError, match="11,000"):
        promql.range_query("g", 0, 20_000 * S, S, source)


def test_offset_shifts_the_evaluation_time():
    source = source_of([({"__name__": "g"}, [(0, 1), (100, 2)])])
    assert instant("g offset 100s", 150, source) == {(("__name__", "g"),): 1}


def test_instant_range_selector_returns_the_raw_window():
    result = promql.instant_query('requests_total{instance="b"}[20s]', 50 * S, COUNTER)
    assert result.result_type == "matrix"
    [(labels, times, values)] = result.series
    assert list(times // S) == [30, 40, 50] and list(values) == [3, 4, 5]


def test_sample_budget_bounds_a_query():
    with pytest.raises(promql.TooMuchData):
        promql.evaluate_instant("sum_over_time(requests_total[1m])", 60 * S, COUNTER, max_samples=5)


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.floats(0, 1000, allow_nan=False), min_size=1, max_size=30),
       gaps=st.lists(st.integers(1, 90), min_size=30, max_size=30),
       expr=st.sampled_from(["rate(c[1m])", "irate(c[2m])", "increase(c[90s])", "avg_over_time(c[1m])",
                             "max_over_time(c[45s])", "c", "sum(c) * 2", "delta(c[1m])"]))
def test_every_step_of_a_range_query_equals_the_instant_query_at_that_time(values, gaps, expr):
    times = np.cumsum(gaps[:len(values)])
    source = source_of([({"__name__": "c"}, list(zip(times.tolist(), values)))])
    steps = list(range(0, int(times[-1]) + 120, 15))
    by_time = {}
    for _labels, ts, vs in promql.evaluate_range(expr, 0, steps[-1] * S, 15 * S, source):
        by_time.update(zip((ts // S).tolist(), vs.tolist()))
    for step in steps:
        answer = promql.evaluate_instant(expr, step * S, source)
        if answer:
            assert math.isclose(by_time[step], answer[0][1], rel_tol=1e-12) or (
                math.isnan(by_time[step]) and math.isnan(answer[0][1]))
        else:
            assert step not in by_time


class HourlySource:
    """Raw samples plus the hourly rollups the rollup worker would store for them (query.aggregate.rollup)."""

    def __init__(self, series):
        self.raw = source_of(series)

    def __call__(self, matchers, start_ms, end_ms):
        return self.raw(matchers, start_ms, end_ms)

    def hourly(self, matchers, start_ms, end_ms, agg):
        edges = np.arange(start_ms, end_ms + HOUR, HOUR)
        return [promql.HourlySeries(s.labels, rollup(s.timestamps, s.values, edges))
                for s in self.raw(matchers, start_ms, end_ms - 1)]


HOUR = 3_600_000


@settings(max_examples=40, deadline=None)
@given(gaps=st.lists(st.integers(1, 1500), min_size=2, max_size=120),
       expr=st.sampled_from(["g", "g offset 1h", "avg_over_time(g[1h])", "min_over_time(g[2h])",
                             "max_over_time(g[1h])", "sum_over_time(g[3h])", "count_over_time(g[1h])",
                             "last_over_time(g[2h])", "sum(g) + 1", "rate(g[1h])"]))
def test_hour_aligned_queries_from_rollups_equal_the_raw_answers(gaps, expr):
    times = np.cumsum([g * 60 if g % 7 else 3600 for g in gaps])  # some samples exactly on the hour
    samples = [(t, float((i * 37) % 11 - 3)) for i, t in enumerate(times.tolist())]
    series = [({"__name__": "g", "k": "v"}, samples)]
    end = (int(times[-1]) // 3600 + 2) * HOUR
    from_rollups = promql.evaluate_range(expr, 0, end, HOUR, HourlySource(series))
    from_raw = promql.evaluate_range(expr, 0, end, HOUR, source_of(series))
    assert [labels for labels, _, _ in from_rollups] == [labels for labels, _, _ in from_raw]
    for (_, t1, v1), (_, t2, v2) in zip(from_rollups, from_raw):
        assert list(t1) == list(t2)
        np.testing.assert_allclose(v1, v2, rtol=1e-12)


def test_rollups_are_not_used_off_the_hour():
    class Refusing(HourlySource):
        def hourly(self, matchers, start_ms, end_ms, agg):
            raise AssertionError("rollups asked for steps that are not on the hour")

    source = Refusing([({"__name__": "g"}, [(10, 1.0)])])
    assert promql.evaluate_range("g", 60 * S, HOUR + 60 * S, HOUR, source)[0][2].tolist() == [1.0]


@pytest.mark.parametrize(("value", "text"), [
    (2.0, "2"), (0.1, "0.1"), (-2.5, "-2.5"), (1e21, "1000000000000000000000"), (1.5e-7, "0.00000015"),
    (3.0000000000000004, "3.0000000000000004"), (float("nan"), "NaN"), (float("inf"), "+Inf"), (-float("inf"), "-Inf"),
])
def test_values_are_written_as_go_writes_them_with_no_exponent(value, text):
    from metrics_server.promql.values import go_float as number
    assert number(value) == text


def test_values_written_at_once_are_written_as_one_by_one():
    from metrics_server.promql.values import go_float, go_floats
    rng = np.random.default_rng(1)
    values = np.concatenate([
        [0.0, -0.0, 1.0, -3.0, 1e15, 1e16, 1.5e16, 2.0 ** 53, 1e-4, 9.99e-5, 1e-5, 5e-324, 1e308, 0.1 + 0.2,
         float("nan"), float("inf"), -float("inf")],
        rng.normal(size=5000) * 10.0 ** rng.integers(-8, 20, 5000), np.round(rng.normal(size=1000) * 1000, 2),
        rng.integers(0, 2 ** 63, 5000).view(np.float64)])  # every bit pattern: NaNs, subnormals, huge
    assert go_floats(values) == [go_float(value) for value in values.tolist()]
    assert go_floats(np.array([])) == []


def test_histogram_quantile_interpolates_in_the_bucket_of_the_rank():
    source = source_of([({"__name__": "lat_bucket", "job": "a", "le": le}, [(10, count)])
                        for le, count in (("0.1", 10), ("0.5", 30), ("+Inf", 40), ("bad", 99))])
    assert instant("histogram_quantile(0.5, lat_bucket)", 10, source) == {(("job", "a"),): pytest.approx(0.3)}
    assert instant("histogram_quantile(0.99, lat_bucket)", 10, source) == {(("job", "a"),): 0.5}  # in +Inf: the last bound
    assert math.isnan(instant("histogram_quantile(0.5, lat_bucket{le!='+Inf'})", 10, source)[(("job", "a"),)])


STALE = np.uint64(0x7FF0000000000002).view(np.float64)


def test_a_stale_marker_ends_the_lookback_at_once_and_is_no_sample_of_a_window():
    source = source_of([({"__name__": "g"}, [(10, 1.0), (20, 2.0), (30, STALE), (200, 4.0)])])
    assert instant("g", 25, source) == {(("__name__", "g"),): 2.0}
    assert instant("g", 30, source) == {} and instant("g", 150, source) == {}
    assert instant("count_over_time(g[1m])", 40, source) == {(): 2.0}
    assert instant("last_over_time(g[1m])", 40, source) == {(("__name__", "g"),): 2.0}


def test_an_ordinary_nan_sample_is_a_value():
    source = source_of([({"__name__": "g"}, [(10, float("nan"))])])
    assert math.isnan(instant("g", 20, source)[(("__name__", "g"),)])


def test_a_subquery_evaluates_its_inner_expression_at_multiples_of_its_step():
    source = source_of([({"__name__": "g"}, [(t, t) for t in range(0, 600, 5)])])
    # [1m:20s] at 100 s: inner steps 40, 60, 80, 100 (the window is closed), each the newest sample at or before
    assert instant("sum_over_time(g[1m:20s])", 100, source) == {(): 40 + 60 + 80 + 100}
    assert instant("count_over_time(g[1m:20s] offset 10s)", 100, source) == {(): 3.0}
    assert instant("max_over_time(g[1m:20s] @ 300)", 100, source) == {(): 300.0}


def test_set_operators_match_per_step_on_labels_but_the_name():
    a = source_of([({"__name__": "a", "i": "1"}, [(10, 1)]), ({"__name__": "a", "i": "2"}, [(10, 2)]),
                   ({"__name__": "b", "i": "2"}, [(10, 20)]), ({"__name__": "b", "i": "3"}, [(10, 30)])])
    assert set(instant("a and b", 20, a)) == {(("__name__", "a"), ("i", "2"))}
    assert set(instant("a unless b", 20, a)) == {(("__name__", "a"), ("i", "1"))}
    assert set(instant("a or b", 20, a)) == {(("__name__", "a"), ("i", "1")), (("__name__", "a"), ("i", "2")),
                                            (("__name__", "b"), ("i", "3"))}
    assert len(instant("a and on() b", 20, a)) == 2
