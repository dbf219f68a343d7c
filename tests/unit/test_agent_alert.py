"""The GlanceMetrics alert as a pure state machine, driven with explicit times (no sleeps)."""
import pytest

from metrics_server.agents.alert import HighTraffic, clock_text


def test_fires_above_the_threshold_and_recovers_at_or_below_it():
    alert = HighTraffic(threshold=10, window=120)
    assert alert.step(1200, now=1000.0) is None  # exactly 10 req/s: not above
    fired = alert.step(1201, now=1001.0)
    assert (fired.kind, fired.value, fired.at) == ("triggered", 10.01, 1001.0)
    assert fired.message == f"High traffic generated an alert - hits = 10.01, triggered at {clock_text(1001.0)}"
    assert alert.step(5000, now=1002.0) is None  # still firing: no second message
    recovered = alert.step(1200, now=1003.0)
    assert (recovered.kind, recovered.value, recovered.at) == ("recovered", 10, 1003.0)
    assert recovered.message == f"High traffic alert recovered - hits = 10, recovered at {clock_text(1003.0)}"
    assert [e.kind for e in alert.history] == ["triggered", "recovered"]


def test_traffic_stopping_recovers_on_the_next_tick():
    alert = HighTraffic(threshold=1, window=10)
    alert.step(50, now=0.0)
    assert alert.active is not None
    assert alert.step(0, now=1.0).kind == "recovered"


def test_a_window_under_a_second_is_refused():
    with pytest.raises(ValueError, match="--alert-window"):
        HighTraffic(window=0.5)
