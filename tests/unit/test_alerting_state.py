"""The pure state machine with a fake clock: exact boundaries of `for`, keep_firing_for, hysteresis, resends,
resolved retention, no data, restore. Times are milliseconds from 0; the group interval is 10 s."""
import math

import pytest

from metrics_server.alerting import engine
from metrics_server.alerting import state as sm
from metrics_server.alerting.rules import Group, Rule

S = 1000
INTERVAL = 10 * S


class Series:
    """An instant query over one series per host with values set by the test: the fake data source."""

    def __init__(self):
        self.values: dict[str, dict[str, float]] = {}  # host → {"x": value}

    def __call__(self, expr: str, at: int) -> list[tuple[dict, float]]:
        name, _, threshold = expr.partition(" > ")
        out = []
        for host, metrics in self.values.items():
            value = metrics.get(name)
            if value is not None and (not threshold or value > float(threshold)):
                out.append(({"__name__": name, "host": host}, value))
        return out


def run(rule: Rule, data: Series, timeline: dict[int, dict], until: int, resend=60 * S):
    """Evaluate every 10 s from 0 to `until`, setting data from `timeline` (time → {host: value or None});
    returns the transitions and the sends as (time, state, first) per alert."""
    group = Group("g", (rule,), interval_ms=INTERVAL)
    states, transitions, sends = {}, [], []
    for now in range(0, until + 1, INTERVAL):
        for host, value in timeline.get(now, {}).items():
            if value is None:
                data.values.pop(host, None)
            else:
                data.values[host] = {"x": value}
        outcome = engine.evaluate_group(group, states, now, data, resend_delay_ms=resend)
        states = outcome.states
        transitions += [(t.at, t.labels["host"], t.from_state, t.to_state) for _, t in outcome.transitions]
        sends += [(now, alert.labels["host"], alert.state, first) for _, alert, first in outcome.sent]
    return transitions, sends, states


def test_for_fires_exactly_when_active_for_the_whole_duration():
    rule = Rule(name="High", expr="x > 10", for_ms=30 * S, key="High")
    transitions, sends, _ = run(rule, Series(), {20 * S: {"a": 11}}, 60 * S)
    # active at 20 s; 50 s - 20 s = 30 s >= for: firing at 50 s, not at 40 s
    assert transitions == [(20 * S, "a", "inactive", "pending"), (50 * S, "a", "pending", "firing")]
    assert sends[0] == (50 * S, "a", "firing", True)


def test_zero_for_fires_at_the_first_evaluation():
    rule = Rule(name="High", expr="x > 10", key="High")
    transitions, _, _ = run(rule, Series(), {0: {"a": 11}}, 0)
    assert transitions == [(0, "a", "inactive", "firing")]


def test_for_shorter_than_the_interval_fires_at_the_next_evaluation():
    rule = Rule(name="High", expr="x > 10", for_ms=5 * S, key="High")
    transitions, _, _ = run(rule, Series(), {0: {"a": 11}}, 10 * S)
    assert transitions == [(0, "a", "inactive", "pending"), (10 * S, "a", "pending", "firing")]


def test_pending_alert_that_disappears_is_dropped_and_never_sent():
    rule = Rule(name="High", expr="x > 10", for_ms=30 * S, key="High")
    transitions, sends, states = run(rule, Series(), {0: {"a": 11}, 20 * S: {"a": 5}}, 40 * S)
    assert transitions == [(0, "a", "inactive", "pending"), (20 * S, "a", "pending", "inactive")]
    assert sends == [] and states["High"].alerts == {}


def test_traffic_stopping_resolves_without_new_points():
    """No new points at all: the series vanishes from the result and the alert resolves (Prometheus' rule)."""
    rule = Rule(name="High", expr="x > 10", key="High")
    transitions, _, _ = run(rule, Series(), {0: {"a": 11}, 30 * S: {"a": None}}, 40 * S)
    assert transitions[-1] == (30 * S, "a", "firing", "inactive")


def test_firing_is_resent_every_resend_delay_rounded_up_to_the_interval_with_ends_at_ahead():
    rule = Rule(name="High", expr="x > 10", key="High")
    group = Group("g", (rule,), interval_ms=25 * S)
    data = Series()
    data.values["a"] = {"x": 11}
    states, sent_at = {}, []
    for now in range(0, 200 * S + 1, 25 * S):
        outcome = engine.evaluate_group(group, states, now, data, resend_delay_ms=60 * S)
        states = outcome.states
        for _, alert, _ in outcome.sent:
            sent_at.append(now)
            assert sm.ends_at(alert) == now + 4 * 60 * S  # 4 x max(resend delay, interval)
    # first multiple of 25 s that is >= 60 s: every 75 s
    assert sent_at == [0, 75 * S, 150 * S]


def test_resolved_is_sent_at_once_then_resent_until_15_minutes():
    rule = Rule(name="High", expr="x > 10", key="High")
    _, sends, states = run(rule, Series(), {0: {"a": 11}, 100 * S: {"a": 1}}, 100 * S + 16 * 60 * S)
    resolved = [(now, first) for now, _, state, first in sends if state == "inactive"]
    assert resolved[0] == (100 * S, True)
    assert [now for now, _ in resolved] == [100 * S + k * 60 * S for k in range(15)]  # not at +15 min
    assert states["High"].alerts == {}  # dropped after the retention


def test_resolved_alert_that_comes_back_is_a_new_alert_with_a_new_active_at():
    rule = Rule(name="High", expr="x > 10", for_ms=20 * S, key="High")
    transitions, _, states = run(rule, Series(), {0: {"a": 11}, 30 * S: {"a": 1}, 50 * S: {"a": 12}}, 70 * S)
    assert transitions[-2:] == [(50 * S, "a", "inactive", "pending"), (70 * S, "a", "pending", "firing")]
    (alert,) = states["High"].alerts.values()
    assert alert.active_at == 50 * S and alert.fired_at == 70 * S


def test_keep_firing_for_holds_then_resolves_at_the_boundary():
    rule = Rule(name="High", expr="x > 10", keep_firing_for_ms=20 * S, key="High")
    transitions, _, _ = run(rule, Series(), {0: {"a": 11}, 10 * S: {"a": 1}}, 40 * S)
    # absent from 10 s: kept at 10 and 20 (0 and 10 s < 20 s), resolved at 30 s
    assert transitions == [(0, "a", "inactive", "firing"), (30 * S, "a", "firing", "inactive")]


def test_keep_firing_for_restarts_when_the_condition_returns():
    rule = Rule(name="High", expr="x > 10", keep_firing_for_ms=20 * S, key="High")
    transitions, _, _ = run(rule, Series(), {0: {"a": 11}, 10 * S: {"a": 1}, 20 * S: {"a": 11},
                                             30 * S: {"a": 1}}, 60 * S)
    assert transitions == [(0, "a", "inactive", "firing"), (50 * S, "a", "firing", "inactive")]


def test_hysteresis_keeps_firing_above_the_recovery_threshold_only():
    rule = Rule(name="High", expr="x > 10", keep_firing_while="x > 8", key="High")
    timeline = {0: {"a": 11}, 10 * S: {"a": 9}, 20 * S: {"a": 8.5}, 30 * S: {"a": 8}}
    transitions, _, _ = run(rule, Series(), timeline, 30 * S)
    assert transitions == [(0, "a", "inactive", "firing"), (30 * S, "a", "firing", "inactive")]


def test_hysteresis_does_not_start_an_alert():
    rule = Rule(name="High", expr="x > 10", keep_firing_while="x > 8", key="High")
    transitions, _, _ = run(rule, Series(), {0: {"a": 9}}, 20 * S)
    assert transitions == []


@pytest.mark.parametrize("policy, expected", [
    ("ok", [(0, "a", "inactive", "firing"), (20 * S, "a", "firing", "inactive")]),
    ("alerting", [(0, "a", "inactive", "firing")]),
    ("keep_last", [(0, "a", "inactive", "firing")]),
    ("nodata", [(0, "a", "inactive", "firing"), (20 * S, "a", "firing", "inactive"),
                (20 * S, "a", "inactive", "firing")]),
])
def test_no_data_policies_when_a_firing_series_stops_reporting(policy, expected):
    rule = Rule(name="High", expr="x > 10", data_expr="x", no_data=policy, key="High")
    transitions, _, states = run(rule, Series(), {0: {"a": 11}, 20 * S: {"a": None}}, 40 * S)
    assert transitions == expected
    if policy == "nodata":
        firing = [a for a in states["High"].alerts.values() if a.state == "firing"]
        assert [a.labels.get("nodata") for a in firing] == ["true"] and math.isnan(firing[0].value)


def test_no_data_recovery_is_not_no_data():
    """A series that reports a low value has data: the alert resolves under every policy."""
    for policy in ("alerting", "keep_last", "nodata"):
        rule = Rule(name="High", expr="x > 10", data_expr="x", no_data=policy, key="High")
        transitions, _, _ = run(rule, Series(), {0: {"a": 11}, 20 * S: {"a": 3}}, 40 * S)
        assert transitions[-1] == (20 * S, "a", "firing", "inactive"), policy


def test_keep_last_keeps_an_inactive_series_inactive():
    rule = Rule(name="High", expr="x > 10", data_expr="x", no_data="keep_last", key="High")
    transitions, _, _ = run(rule, Series(), {0: {"a": 5}, 20 * S: {"a": None}}, 40 * S)
    assert transitions == []


def test_mute_until_sends_nothing_then_announces_the_firing_alert():
    rule = Rule(name="High", expr="x > 10", mute_until_ms=35 * S, key="High")
    transitions, sends, _ = run(rule, Series(), {0: {"a": 11}}, 50 * S)
    assert transitions == [(0, "a", "inactive", "firing")]
    assert sends == [(40 * S, "a", "firing", True)]


def test_mute_swallows_the_resolution_of_an_alert_never_announced():
    rule = Rule(name="High", expr="x > 10", mute_until_ms=35 * S, key="High")
    _, sends, _ = run(rule, Series(), {0: {"a": 11}, 20 * S: {"a": 1}}, 60 * S)
    assert sends == []


def test_duplicate_labels_fail_the_rule_and_send_nothing():
    rule = Rule(name="High", expr="x > 10", labels={"host": "same"}, key="High")
    data = Series()
    data.values = {"a": {"x": 11}, "b": {"x": 12}}
    outcome = engine.evaluate_group(Group("g", (rule,), INTERVAL), {}, 0, data)
    assert outcome.states["High"].health == "err"
    assert "same labelset" in outcome.states["High"].last_error and outcome.sent == []


def test_labels_and_annotations_are_templated_per_alert_and_alertname_overrides():
    rule = Rule(name="High", expr="x > 10", labels={"severity": "page", "alertname": "x"},
                annotations={"summary": "{{ $labels.host }} at {{ $value }} {{ .Value | humanize }}"}, key="High")
    data = Series()
    data.values = {"a": {"x": 1234567.0}}
    outcome = engine.evaluate_group(Group("g", (rule,), INTERVAL), {}, 0, data)
    (alert,) = outcome.states["High"].alerts.values()
    assert alert.labels == {"host": "a", "severity": "page", "alertname": "High"}
    assert alert.annotations == {"summary": "a at 1.234567e+06 1.235M"}


def test_later_rules_see_the_alerts_series_of_earlier_ones():
    written = []
    rule = Rule(name="High", expr="x > 10", for_ms=10 * S, key="High")
    data = Series()
    data.values = {"a": {"x": 11}}
    engine.evaluate_group(Group("g", (rule,), INTERVAL), {}, 0, data, write=written.extend)
    names = sorted((labels["__name__"], labels.get("alertstate"), value) for labels, _, value in written)
    assert names == [("ALERTS", "pending", 1.0), ("ALERTS_FOR_STATE", None, 0.0)]


def test_state_survives_a_json_round_trip_and_restore_keeps_for():
    rule = Rule(name="High", expr="x > 10", for_ms=60 * S, key="High")
    data = Series()
    data.values = {"a": {"x": 11}}
    group = Group("g", (rule,), INTERVAL)
    states = engine.evaluate_group(group, {}, 0, data).states
    stored = {key: engine.state_from_json(engine.state_to_json(value)) for key, value in states.items()}
    restored = {key: engine.RuleState(**{**value.__dict__, "alerts": sm.restore(value.alerts,
                                                                                  value.last_evaluation, 40 * S)})
                for key, value in stored.items()}
    outcome = engine.evaluate_group(group, restored, 60 * S, data)
    assert [(t.from_state, t.to_state, t.at) for _, t in outcome.transitions] == [("pending", "firing", 60 * S)]


def test_restore_after_a_long_outage_starts_afresh():
    alert = sm.Alert({"alertname": "High"}, {}, sm.PENDING, 11.0, active_at=0)
    assert sm.restore({"k": alert}, 0, sm.OUTAGE_TOLERANCE_MS) == {"k": alert}
    assert sm.restore({"k": alert}, 0, sm.OUTAGE_TOLERANCE_MS + 1) == {}


def test_backtest_replays_the_same_evaluator():
    rule = Rule(name="High", expr="x > 10", for_ms=20 * S, key="High")

    def query(expr, at):
        return [({"host": "a"}, 11.0)] if 30 * S <= at < 90 * S else []

    transitions = engine.backtest(Group("g", (rule,), INTERVAL), query, 0, 120 * S)
    assert [(t.at, t.from_state, t.to_state) for _, t in transitions] == [
        (30 * S, "inactive", "pending"), (50 * S, "pending", "firing"), (90 * S, "firing", "inactive")]
