"""Histograms: bucket bounds, heatmap sums per bin, quantiles as Prometheus' histogram_quantile computes them."""
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics_server.query.histogram import heatmap, parse_bound, quantile

INF = math.inf
NAN = np.nan
BOUNDS = np.array([0.1, 0.5, 1.0, 5.0, INF])


def prometheus_quantile(bounds, counts, q) -> float:
    """histogram_quantile transliterated from Prometheus' Go code, one row at a time, as the reference."""
    cumulative = list(np.cumsum(counts))
    total = cumulative[-1]
    if total == 0:
        return NAN
    rank = q * total
    bucket = next(i for i, seen in enumerate(cumulative) if seen >= rank and seen > 0)
    if bounds[bucket] == INF:
        return float(max((b for b in bounds if b != INF), default=NAN))
    start, end, count = 0.0, bounds[bucket], counts[bucket]
    if bucket > 0:
        start = bounds[bucket - 1]
        rank -= cumulative[bucket - 1]
    elif end <= 0:
        return end
    return start + (end - start) * (rank / count if count else 0.0)


@pytest.mark.parametrize("key, expected", [
    ("10", 10.0), ("0.5", 0.5), ("+inf", INF), ("inf", INF), ("+Inf", INF), ("Inf", INF), (" 2.5e-3 ", 0.0025),
    ("-1", -1.0),
])
def test_parse_bound(key, expected):
    assert parse_bound(key) == expected


@pytest.mark.parametrize("key", ["", "abc", "nan", "-inf", "infinity", "1e999", None, "1,5"])
def test_parse_bound_refuses(key):
    with pytest.raises(ValueError, match=r"expected a bucket upper bound: a finite number or '\+Inf'; got"):
        parse_bound(key)


def test_heatmap_sums_counts_per_bin_and_bucket():
    grid = heatmap(np.array([15, 1, 2, 35]), np.array([1.0, INF]), np.array([[5, 6], [1, 2], [3, 4], [9, 9]]),
                   np.array([0, 10, 20, 30]))
    np.testing.assert_array_equal(grid, [[4, 6], [5, 6], [NAN, NAN]])


def test_heatmap_keeps_zero_counts_apart_from_empty_bins():
    grid = heatmap(np.array([1]), np.array([1.0, INF]), np.array([[0, 0]]), np.array([0, 10, 20]))
    np.testing.assert_array_equal(grid, [[0, 0], [NAN, NAN]])


def test_heatmap_without_buckets_or_points():
    assert heatmap(np.array([], dtype=np.int64), np.array([]), np.empty((0, 0)), np.array([0, 10])).shape == (1, 0)
    grid = heatmap(np.array([], dtype=np.int64), BOUNDS, np.empty((0, 5)), np.array([0, 10, 20]))
    assert grid.shape == (2, 5) and np.isnan(grid).all()


def test_heatmap_refuses_bad_shapes_and_bounds():
    with pytest.raises(ValueError, match="counts must have shape"):
        heatmap(np.array([1, 2]), BOUNDS, np.ones((2, 4)), np.array([0, 10]))
    with pytest.raises(ValueError, match="strictly ascending"):
        heatmap(np.array([1]), np.array([1.0, 0.5]), np.ones((1, 2)), np.array([0, 10]))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12), st.integers(0, 120), st.integers(0, 4), st.randoms(use_true_random=False))
def test_heatmap_matches_pandas(n_bins, n_points, n_finite, random):
    bounds = np.append(np.sort(random.sample(range(1, 100), n_finite)).astype(float), INF)
    edges = np.arange(n_bins + 1) * 10
    ts = np.array([random.randint(-5, n_bins * 10 + 5) for _ in range(n_points)], dtype=np.int64)
    counts = np.array([[random.randint(0, 5) for _ in bounds] for _ in ts], dtype=float).reshape(-1, len(bounds))
    frame = pd.DataFrame(counts).assign(bin=np.searchsorted(edges, ts, side="right") - 1)
    expected = frame[(frame.bin >= 0) & (frame.bin < n_bins)].groupby("bin").sum().reindex(range(n_bins))
    np.testing.assert_array_equal(heatmap(ts, bounds, counts, edges), expected.to_numpy(dtype=float))


@pytest.mark.parametrize("counts, q, expected", [
    ([10, 0, 0, 0, 0], 0.5, 0.05),            # first bucket interpolates from 0
    ([0, 10, 0, 0, 0], 0.5, 0.3),
    ([5, 5, 0, 0, 0], 0.5, 0.1),
    ([5, 5, 0, 0, 0], 0.9, 0.42),
    ([0, 0, 0, 0, 4], 0.5, 5.0),              # in the +Inf bucket: the highest finite bound
    ([1, 0, 0, 0, 9], 0.99, 5.0),
    ([0, 0, 2, 2, 0], 0.0, 0.5),              # q=0: the lower edge of the first non-empty bucket
    ([0, 0, 2, 2, 0], 1.0, 5.0),
    ([0, 0, 0, 0, 0], 0.5, NAN),
])
def test_quantile_known_values(counts, q, expected):
    np.testing.assert_allclose(quantile(BOUNDS, np.array(counts, dtype=float), q), expected, equal_nan=True)


def test_quantile_of_a_first_bucket_at_or_below_zero_is_its_bound():
    assert quantile(np.array([-1.0, 0.0, INF]), np.array([3.0, 1.0, 0.0]), 0.5) == -1.0


def test_quantile_rows_and_scalar():
    grid = np.array([[10, 0, 0, 0, 0], [NAN] * 5, [0, 0, 0, 0, 0]], dtype=float)
    result = quantile(BOUNDS, grid, 0.5)
    np.testing.assert_allclose(result, [0.05, NAN, NAN], equal_nan=True)
    assert isinstance(quantile(BOUNDS, grid[0], 0.5), float)


def test_quantile_without_buckets_is_nan():
    assert np.isnan(quantile(np.array([]), np.empty((3, 0)), 0.5)).all()
    assert math.isnan(quantile([], [], 0.5))


@pytest.mark.parametrize("q", [-0.1, 1.5])
def test_quantile_refuses_q_outside_0_1(q):
    with pytest.raises(ValueError, match="between 0 and 1"):
        quantile(BOUNDS, np.ones(5), q)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.floats(-10, 1000, allow_nan=False), min_size=1, max_size=6, unique=True), st.booleans(),
       st.data(), st.floats(0, 1))
def test_quantile_matches_prometheus(finite, with_inf, data, q):
    bounds = np.array(sorted(finite) + ([INF] if with_inf else []))
    rows = data.draw(st.lists(st.lists(st.integers(0, 20), min_size=len(bounds), max_size=len(bounds)),
                              min_size=1, max_size=5))
    counts = np.array(rows, dtype=float)
    expected = [prometheus_quantile(bounds, row, q) for row in counts]
    np.testing.assert_allclose(quantile(bounds, counts, q), expected, rtol=1e-9, atol=1e-9, equal_nan=True)
