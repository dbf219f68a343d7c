"""bench/nab_score.py on files small enough to score by hand from NAB's published rules."""
import math

import numpy as np
import pytest

from bench.nab_score import PROFILES, File, best_raw_score, normalised_score, probation_rows

STANDARD = PROFILES["standard"]
# 100 rows: rows 0-14 are probation; one window of 10 rows, 40..49
FILE = File(rows=100, windows=((40, 49),))


def sigmoid_reward(position: float) -> float:
    """2 / (1 + e^(5x)) - 1, as NAB's whitepaper defines it."""
    return 2 / (1 + math.exp(5 * position)) - 1


def detections(*rows: int, rows_in_file: int = 100) -> np.ndarray:
    scores = np.zeros(rows_in_file)
    scores[list(rows)] = 1.0
    return scores


def test_probation_is_15_percent_capped_at_750_rows():
    assert (probation_rows(100), probation_rows(4999), probation_rows(20000)) == (15, 749, 750)


def test_detection_at_a_windows_left_edge_earns_the_whole_true_positive_weight():
    assert best_raw_score([FILE], [detections(40)], STANDARD) == (1.0, pytest.approx(1.0))


def test_detection_at_a_windows_last_row_earns_little():
    expected = sigmoid_reward(-1 / 10) / sigmoid_reward(-1)  # 0.248
    assert best_raw_score([FILE], [detections(49)], STANDARD)[1] == pytest.approx(expected)


def test_only_the_earliest_detection_in_a_window_counts():
    assert best_raw_score([FILE], [detections(45, 40, 41, 49)], STANDARD)[1] == pytest.approx(1.0)


def test_false_positives_cost_more_the_further_they_are_past_a_window():
    just_after = 1 + sigmoid_reward(3 / 9) * 0.11  # 3 rows past a 10-row window: 3 / (10 - 1) of its width
    before_any_window = 1 - 0.11
    assert best_raw_score([FILE], [detections(40, 52)], STANDARD)[1] == pytest.approx(just_after)
    assert best_raw_score([FILE], [detections(40, 20)], STANDARD)[1] == pytest.approx(before_any_window)


def test_detections_in_probation_are_not_scored():
    assert best_raw_score([FILE], [detections(40, 3)], STANDARD)[1] == pytest.approx(1.0)


def test_the_threshold_is_chosen_for_the_best_score_and_a_missed_window_costs_the_false_negative_weight():
    scores = np.zeros(100)
    scores[20] = 0.9  # a false positive that only the lower threshold lets through
    scores[44] = 0.5  # halfway into the window
    in_window = sigmoid_reward(-6 / 10) / sigmoid_reward(-1)
    assert best_raw_score([FILE], [scores], STANDARD) == (0.5, pytest.approx(in_window - 0.11))
    assert best_raw_score([FILE], [scores], PROFILES["reward_low_FN_rate"]) == (0.5, pytest.approx(in_window - 0.11))
    nothing = best_raw_score([FILE], [np.zeros(100)], PROFILES["reward_low_FN_rate"])
    assert nothing == (math.inf, -2.0)


def test_scores_are_normalised_between_the_null_and_the_perfect_detector():
    other = File(rows=200, windows=((100, 119), (160, 179)))
    perfect = [detections(40), detections(100, 160, rows_in_file=200)]
    null = [np.full(100, 0.5), np.full(200, 0.5)]
    half = [detections(40), np.zeros(200)]  # one window of three caught early: raw 1 - 1 - 1
    assert normalised_score([FILE, other], perfect, STANDARD)[1] == pytest.approx(100.0)
    assert normalised_score([FILE, other], null, STANDARD)[1] == pytest.approx(0.0)
    assert normalised_score([FILE, other], half, STANDARD)[1] == pytest.approx(100 * (-1 + 3) / (3 + 3))
