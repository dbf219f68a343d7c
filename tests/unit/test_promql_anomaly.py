"""anomaly_score(v[range]), our PromQL extension: the last sample of each window scored against the samples
before it in the window (query/anomaly.py), on explicit samples."""
import numpy as np
import pytest

from metrics_server import promql
from metrics_server.promql.errors import PromQLError
from metrics_server.query.anomaly import exceedance

S = 1000  # ms
CYCLE = [10.0 + (t % 10) for t in range(100)]  # a saw between 10 and 19, a sample a second


def source(values):
    def read(matchers, start_ms, end_ms):
        times = np.arange(len(values), dtype=np.int64) * S
        keep = (times >= start_ms) & (times <= end_ms)
        return [promql.RawSeries({"__name__": "load", "host": "a"}, times[keep], np.asarray(values)[keep])]
    return read


def at(expr, seconds, values):
    return {tuple(sorted(labels.items())): value
            for labels, value in promql.evaluate_instant(expr, seconds * S, source(values))}


def test_a_value_inside_the_windows_range_scores_zero_and_one_range_above_scores_one_half():
    spiked = CYCLE[:80] + [28.0] + CYCLE[81:]  # 9 above the saw's top, the saw spans 9
    assert at("anomaly_score(load[60s])", 79, spiked) == {(("host", "a"),): 0.0}  # the name is dropped
    assert at("anomaly_score(load[60s])", 80, spiked) == {(("host", "a"),): pytest.approx(0.5)}
    assert at("anomaly_score(load[60s]) > 0.4", 80, spiked) == {(("host", "a"),): pytest.approx(0.5)}


def test_every_step_of_a_range_query_scores_its_own_window():
    spiked = CYCLE[:80] + [28.0] + CYCLE[81:]
    result = promql.evaluate_range("anomaly_score(load[40s])", 50 * S, 99 * S, S, source(spiked))
    (_, times, values), = result
    scores = dict(zip(times.tolist(), values.tolist()))
    assert scores[80 * S] == pytest.approx(exceedance(28.0, 19.0, 10.0))
    assert all(score == 0 for t, score in scores.items() if t != 80 * S)


def test_too_short_a_window_has_no_score_and_a_vector_argument_is_refused():
    assert at("anomaly_score(load[10s])", 50, CYCLE) == {}
    with pytest.raises(PromQLError):
        at("anomaly_score(load)", 50, CYCLE)
