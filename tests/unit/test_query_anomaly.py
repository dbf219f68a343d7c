"""metrics_server/query/anomaly.py: the detectors' scores on series whose anomalies are known by construction."""
import numpy as np
import pandas as pd
import pytest

from metrics_server.query import anomaly
from metrics_server.query.aggregate import aggregate

RNG = np.random.default_rng(7)
DAILY = 10 + 5 * np.sin(np.arange(3000) * 2 * np.pi / 288) + RNG.normal(0, 0.3, 3000)  # 5-minute points


@pytest.mark.parametrize("window", [1, 3, 50, 1000, 5000])
def test_running_extremes_are_those_of_the_window_before_each_point(window):
    values = RNG.normal(size=3001)
    highs = anomaly.running_extreme(values, window, np.maximum)
    lows = anomaly.running_extreme(values, window, np.minimum)
    expected_high = [values[max(i - window, 0):i].max() for i in range(1, len(values))]
    expected_low = [values[max(i - window, 0):i].min() for i in range(1, len(values))]
    assert np.isnan(highs[0]) and np.isnan(lows[0])
    np.testing.assert_array_equal(highs[1:], expected_high)
    np.testing.assert_array_equal(lows[1:], expected_low)


def test_a_daily_cycle_scores_nothing_and_a_spike_one_range_above_scores_one_half():
    values = DAILY.copy()
    past = values[:2000]
    values[2000] = past.max() + (past.max() - past.min())
    scores = anomaly.novelty(values)
    assert scores[2000] == pytest.approx(0.5)
    others = np.delete(scores, 2000)
    assert others.max() < 0.05  # noise now and then sets a new extreme by a little
    assert np.all((scores >= 0) & (scores < 1))


def test_a_score_depends_only_on_the_points_before_it():
    changed = DAILY.copy()
    changed[1500:] = 100.0
    np.testing.assert_array_equal(anomaly.novelty(changed)[:1500], anomaly.novelty(DAILY)[:1500])
    np.testing.assert_array_equal(anomaly.gaussian(changed)[:1500], anomaly.gaussian(DAILY)[:1500])


def test_a_drift_into_new_territory_is_one_episode():
    values = np.concatenate([DAILY[:1000], DAILY[:1000].max() + np.arange(1, 11) * 3.0])  # ten new highs in a row
    scores = anomaly.novelty(values)
    assert scores[1000] > 0.1
    assert np.count_nonzero(scores[1001:]) == 0
    assert np.count_nonzero(anomaly.novelty(values, gap=0)[1000:]) == 10


def test_a_flat_series_that_moves_scores_high_but_finite():
    values = np.full(100, 5.0)
    values[60] = 5.5
    scores = anomaly.novelty(values)
    assert 0.99 < scores[60] < 1.0
    assert np.count_nonzero(scores) == 1


def test_the_gaussian_baseline_scores_a_ten_deviation_spike_ten_elevenths():
    values = np.tile([-1.0, 1.0], 500)  # mean 0, deviation 1 exactly
    values[700] = 10.0
    assert anomaly.gaussian(values)[700] == pytest.approx(10 / 11)
    assert anomaly.gaussian(values)[698] == pytest.approx(0.5)  # a value one deviation from the mean


@pytest.mark.parametrize("detector", sorted(anomaly.DETECTORS))
@pytest.mark.parametrize("points", [0, 1, 2])
def test_every_detector_scores_a_series_of_no_one_or_two_points_as_zero(detector, points):
    assert anomaly.DETECTORS[detector](np.arange(points, dtype=float)).tolist() == [0.0] * points


def test_scoring_points_sorts_them_and_leaves_out_absent_values():
    ts = np.array([3, 1, 2, 4])
    values = np.array([3.0, 1.0, np.nan, 4.0])
    times, scores = anomaly.score_points(ts, values, "gaussian")
    assert times.tolist() == [1, 3, 4]
    assert len(scores) == 3


def test_the_last_of_each_window_scores_as_novelty_with_the_window_as_history():
    values = DAILY[:400].copy()
    values[350] = 30.0
    lo = np.array([0, 100, 340, 0])
    hi = np.array([351, 351, 351, 20])  # the last: too few points to score
    scores, present = anomaly.last_of_windows(values, lo, hi)
    assert present.tolist() == [True, True, False, False]
    for window in range(2):
        history = values[lo[window]:350]
        assert scores[window] == pytest.approx(anomaly.exceedance(30.0, history.max(), history.min()))
    assert scores[0] <= scores[1]  # a shorter history has a narrower range


def test_the_anomaly_aggregate_is_each_bins_highest_score_and_nan_for_an_empty_bin():
    ts = np.arange(1000) * 60_000
    values = DAILY[:1000].copy()
    values[700] = 40.0
    keep = (ts < 300 * 60_000) | (ts >= 360 * 60_000)  # an hour without points
    edges = np.arange(0, 1000 * 60_000 + 1, 3_600_000)
    _, scores = anomaly.score_points(ts[keep], values[keep])
    expected = pd.Series(scores).groupby(ts[keep] // 3_600_000).max().reindex(range(len(edges) - 1))
    got = aggregate(ts[keep][::-1], values[keep][::-1], edges, "anomaly")  # any order in: scored in time order
    np.testing.assert_array_equal(got, expected.to_numpy())
    assert np.isnan(got[5]) and got[11] == scores.max()


def test_a_new_rhythm_inside_the_range_is_a_new_context_that_novelty_does_not_see():
    day = np.arange(288)
    values = np.tile(np.where((day > 100) & (day < 180), 20.0, 10.0), 10) + np.tile(np.linspace(0, 1, 288), 10)
    flutter = slice(7 * 288 + 20, 7 * 288 + 32)
    values[flutter] = np.tile([10.2, 19.8], 6)  # an hour flipping between low and high: every value seen before
    assert np.count_nonzero(anomaly.novelty(values)[2 * 288:]) == 0
    marked = np.flatnonzero(anomaly.context(values)[2 * 288:]) + 2 * 288
    assert len(marked) == 1 and flutter.start < marked[0] < flutter.stop  # one episode
    assert anomaly.context(values)[marked[0]] == anomaly.LEVEL


def test_a_score_depends_on_at_most_history_points_before_it():
    values = np.concatenate([RNG.normal(size=20_000).cumsum(), DAILY])
    values[21_000] += 50
    whole = anomaly.context(values)
    first = 16_000
    tail = anomaly.context(values[first - anomaly.HISTORY:])[anomaly.HISTORY:]
    np.testing.assert_array_equal(tail, whole[first:])
    assert np.count_nonzero(whole[first:]) > 3
