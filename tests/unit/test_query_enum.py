"""Enum state shares: durations until the next point, clipping to the range, ordering, refusals."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics_server.query.enum import state_shares


def states(*names) -> np.ndarray:
    return np.array(names, dtype=object)


def test_each_state_lasts_until_the_next_point():
    shares = state_shares(np.array([0, 10_000, 20_000, 40_000]), states("up", "down", "up", "maintenance"),
                          0, 50_000)
    assert shares == [
        {"state": "up", "count": 2, "seconds": 30.0, "share": 0.6},
        {"state": "down", "count": 1, "seconds": 10.0, "share": 0.2},
        {"state": "maintenance", "count": 1, "seconds": 10.0, "share": 0.2},
    ]


def test_a_point_before_start_counts_only_from_start_and_is_not_seen():
    shares = state_shares(np.array([-30_000, 10_000]), states("down", "up"), 0, 20_000)
    assert shares == [
        {"state": "down", "count": 0, "seconds": 10.0, "share": 0.5},
        {"state": "up", "count": 1, "seconds": 10.0, "share": 0.5},
    ]


def test_states_ended_before_start_are_left_out():
    shares = state_shares(np.array([-30_000, -20_000, 5_000]), states("old", "down", "up"), 0, 10_000)
    assert [share["state"] for share in shares] == ["down", "up"]
    assert [share["seconds"] for share in shares] == [5.0, 5.0]


def test_unsorted_input_and_points_after_end_ties_by_name():
    shares = state_shares(np.array([30_000, 0, 10_000]), states("late", "b", "a"), 0, 20_000)
    assert shares == [
        {"state": "a", "count": 1, "seconds": 10.0, "share": 0.5},
        {"state": "b", "count": 1, "seconds": 10.0, "share": 0.5},
    ]


def test_duplicate_timestamps_give_the_later_point_the_time():
    shares = state_shares(np.array([0, 0]), states("first", "second"), 0, 10_000)
    assert shares == [
        {"state": "second", "count": 1, "seconds": 10.0, "share": 1.0},
        {"state": "first", "count": 1, "seconds": 0.0, "share": 0.0},
    ]


def test_no_points_no_shares():
    assert state_shares(np.array([], dtype=np.int64), states(), 0, 10_000) == []


def test_values_are_plain_python_numbers():
    share = state_shares(np.array([0]), states("up"), 0, 1_000)[0]
    assert [type(share[key]) for key in ("state", "count", "seconds", "share")] == [str, int, float, float]


def test_refusals():
    with pytest.raises(ValueError, match="start must be before end"):
        state_shares(np.array([0]), states("up"), 10, 10)
    with pytest.raises(ValueError, match="one length"):
        state_shares(np.array([0, 1]), states("up"), 0, 10)
    with pytest.raises(ValueError, match="needs a state string"):
        state_shares(np.array([0, 1]), states("up", None), 0, 10)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(-1_000, 3_000), st.sampled_from("abcd")), max_size=40),
       st.integers(0, 1_000), st.integers(1, 2_000))
def test_shares_cover_the_range_from_the_first_point(points, start, length):
    ts = np.array([t for t, _ in points], dtype=np.int64)
    shares = state_shares(ts, states(*[s for _, s in points]), start, start + length)
    covered = max(0, start + length - max(start, int(ts.min()))) if points else 0
    assert sum(share["seconds"] for share in shares) == pytest.approx(covered / 1000)
    assert sum(share["count"] for share in shares) == int(((ts >= start) & (ts < start + length)).sum())
    if covered:
        assert sum(share["share"] for share in shares) == pytest.approx(1.0)
    assert [share["seconds"] for share in shares] == sorted((share["seconds"] for share in shares), reverse=True)
