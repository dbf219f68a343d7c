"""The Prometheus alert-generator compliance suite's scenarios (prometheus/compliance, alert_generator/cases),
replayed on the evaluator with a fake clock: the same samples, rule, interval and resend delay, and the
expected states, sends, startsAt/endsAt and ALERTS series the suite checks, at exact times rather than with
its tolerance of one group interval."""
import math

from metrics_server.alerting import engine
from metrics_server.alerting import state as sm
from metrics_server.alerting.rules import Group, Rule
from metrics_server.protocols.prometheus import is_stale

S = 1000
RW = 15 * S  # the suite's remote-write interval
INTERVAL = 30 * S
RESEND = 60 * S  # the spec's default ResendDelay


def expand(notation: list[str]) -> list[float]:
    """The suite's sample notation: 'v' one sample, '0xN' the previous value N more times."""
    out: list[float] = []
    for item in notation:
        if item.startswith("0x"):
            out += [out[-1]] * int(item[2:])
        else:
            out.append(float(item))
    return out


# PendingAndFiringAndResolved: samples every 15 s; pending at the 8th, 15 at the 21st, firing at the 32nd (for is
# 24 samples), 19 at the 53rd, resolved at the 69th, pending again at the 89th, firing at the 113th, resolved at
# the 134th.
SAMPLES = expand(["3", "5", "0x2", "9", "0x3", "11", "0x12", "15", "0x11", "0x20", "19", "0x15", "9", "0x19",
                  "15", "0x24", "0x20", "8", "0x15"])
RULE = Rule(name="PendingAndFiringAndResolved_SimpleAlert", expr="metric > 10", for_ms=24 * RW,
            labels={"foo": "bar", "rulegroup": "PendingAndFiringAndResolved"},
            annotations={"description": "SimpleAlert is firing", "summary": "The value is {{$value}} {{.Value}}"},
            key="PendingAndFiringAndResolved_SimpleAlert")


def query(expr: str, at: int) -> list[tuple[dict, float]]:
    """`metric > 10` over the samples (the latest at or before `at`)."""
    value = SAMPLES[min(at // RW, len(SAMPLES) - 1)]
    return [({"__name__": "metric"}, value)] if value > 10 else []


def replay():
    group = Group("PendingAndFiringAndResolved", (RULE,), interval_ms=INTERVAL)
    states, timeline, sends, series = {}, {}, [], {}
    for now in range(0, 3000 * S, INTERVAL):  # the last sample (8) stays until past the 15 minutes of resends
        written = []
        outcome = engine.evaluate_group(group, states, now, query, written.extend, RESEND)
        states = outcome.states
        alerts = list(states[RULE.key].alerts.values())
        timeline[now] = [a.state for a in alerts if a.state != sm.INACTIVE] or ["inactive"]
        sends += [(now, a.state, a.fired_at, sm.ends_at(a), a.annotations["summary"]) for _, a, _ in outcome.sent]
        series[now] = sorted((labels["__name__"], labels.get("alertstate"), value) for labels, _, value in written)
    return timeline, sends, series


def test_states_follow_pending_firing_inactive_and_back():
    timeline, _, _ = replay()
    assert timeline[3 * INTERVAL] == ["inactive"]  # 90 s, before the 8th sample
    assert timeline[4 * INTERVAL] == ["pending"]  # 120 s = 8th sample: ActiveAt
    assert timeline[15 * INTERVAL] == ["pending"]  # 450 s < 120 + 360
    assert timeline[16 * INTERVAL] == ["firing"]  # 480 s = 32nd sample: FiredAt
    assert timeline[34 * INTERVAL] == ["firing"]  # 1020 s
    assert timeline[35 * INTERVAL] == ["inactive"]  # 1050 s: the 69th sample (1035 s) seen at the next evaluation
    assert timeline[45 * INTERVAL] == ["pending"]  # 1350 s: the 89th (1335 s) seen
    assert timeline[57 * INTERVAL] == ["firing"]  # 1710 s = 1350 + 360
    assert timeline[67 * INTERVAL] == ["inactive"]  # 2010 s = 134th sample


def test_sends_match_the_suites_expected_alerts():
    _, sends, _ = replay()
    firing1 = [s for s in sends if s[2] == 480 * S]
    # first firing at 480 s, re-sent every minute with endsAt = now + 4 x max(ResendDelay, interval)
    assert [(now, st) for now, st, *_ in firing1 if st == "firing"] == [(t * S, "firing") for t in range(480, 1050, 60)]
    assert all(ends == now + 4 * RESEND for now, st, _, ends, _ in firing1 if st == "firing")
    assert {summary for now, st, _, _, summary in firing1 if st == "firing" and now < 810 * S} == {"The value is 15 15"}
    assert {summary for now, st, _, _, summary in firing1 if st == "firing" and now >= 810 * S} == {"The value is 19 19"}
    # resolved at 1050 s (endsAt = ResolvedAt, startsAt still FiredAt), re-sent until the new alert at 1350 s
    resolved1 = [(now, ends) for now, st, _, ends, _ in firing1 if st == "inactive"]
    assert resolved1 == [(t * S, 1050 * S) for t in range(1050, 1350, 60)]
    # the second episode: firing from 1710 s, resolved at 2010 s and re-sent for less than 15 minutes
    second = [(now, st) for now, st, fired, _, _ in sends if fired == 1710 * S]
    assert [now for now, st in second if st == "firing"] == [t * S for t in range(1710, 2010, 60)]
    assert [now for now, st in second if st == "inactive"] == [t * S for t in range(2010, 2010 + 900, 60)]
    assert all(st != "pending" for _, st, *_ in sends)


def test_alerts_series_carry_the_state_and_go_stale_when_the_alert_leaves_it():
    """What the suite's ALERTS checks need: a state's series ends (stale marker) the evaluation the alert leaves
    that state, so ALERTS{alertstate="pending"} is gone once firing, and everything once inactive."""
    _, _, series = replay()
    assert series[90 * S] == []
    assert series[120 * S] == [("ALERTS", "pending", 1.0), ("ALERTS_FOR_STATE", None, 120.0)]
    assert series[450 * S] == [("ALERTS", "pending", 1.0), ("ALERTS_FOR_STATE", None, 120.0)]
    firing = series[480 * S]
    assert [(name, st, value) for name, st, value in firing if not is_stale(value)] == [
        ("ALERTS", "firing", 1.0), ("ALERTS_FOR_STATE", None, 120.0)]
    assert [(name, st) for name, st, value in firing if is_stale(value)] == [("ALERTS", "pending")]
    assert [(name, st) for name, st, value in series[1050 * S] if is_stale(value)] == [
        ("ALERTS", "firing"), ("ALERTS_FOR_STATE", None)]
    assert len(series[1050 * S]) == 2 and series[1080 * S] == []  # one marker, then nothing


def test_a_pending_alert_that_never_fires_ends_its_series():
    """PendingAndResolved_AlwaysInactive: pending, then the condition goes away before `for` elapses."""
    rule = Rule(name="P", expr="metric > 10", for_ms=3600 * S, key="P")
    group = Group("g", (rule,), interval_ms=INTERVAL)
    values = {0: 20.0, INTERVAL: 20.0, 2 * INTERVAL: 5.0}
    states, written = {}, {}
    for now, value in values.items():
        out: list = []
        states = engine.evaluate_group(group, states, now, lambda e, at, v=value: [({}, v)] if v > 10 else [],
                                       out.extend).states
        written[now] = sorted((labels["__name__"], labels.get("alertstate"), is_stale(v)) for labels, _, v in out)
    assert written[INTERVAL] == [("ALERTS", "pending", False), ("ALERTS_FOR_STATE", None, False)]
    assert written[2 * INTERVAL] == [("ALERTS", "pending", True), ("ALERTS_FOR_STATE", None, True)]


def test_a_failed_evaluation_and_a_removed_rule_end_their_series():
    """As Prometheus' group does: series written last time and not this time get a stale marker."""
    rule = Rule(name="A", expr="metric > 10", key="A")
    group = Group("g", (rule,), interval_ms=INTERVAL)
    states = engine.evaluate_group(group, {}, 0, lambda e, at: [({}, 20.0)], None).states

    def broken(expr, at):
        raise RuntimeError("storage away")
    out: list = []
    states = engine.evaluate_group(group, states, INTERVAL, broken, out.extend).states
    assert sorted((labels["__name__"], is_stale(v)) for labels, _, v in out) == [("ALERTS", True),
                                                                             ("ALERTS_FOR_STATE", True)]
    states = engine.evaluate_group(group, states, 2 * INTERVAL, lambda e, at: [({}, 20.0)], None).states
    out.clear()
    engine.evaluate_group(Group("g", (), interval_ms=INTERVAL), states, 3 * INTERVAL, broken, out.extend)
    assert len(out) == 2 and all(is_stale(v) for _, _, v in out)


def test_nan_and_infinite_results_are_alerts_and_samples_like_any_other():
    rule = Rule(name="N", expr="metric", key="N")
    out: list = []
    outcome = engine.evaluate_group(Group("g", (rule,), interval_ms=INTERVAL), {}, 0,
                                    lambda e, at: [({"k": "nan"}, math.nan), ({"k": "inf"}, math.inf)], out.extend)
    assert len(outcome.states["N"].alerts) == 2
    assert len([labels for labels, _, _ in out if labels["__name__"] == "ALERTS"]) == 2


def test_later_rules_of_a_group_read_the_alerts_series_of_this_cycle():
    """The suite's ordering case: a rule over ALERTS sees the earlier rule's alert in the same evaluation."""
    store: list[tuple[dict, int, float]] = []

    def read(expr: str, at: int) -> list[tuple[dict, float]]:
        if expr.startswith("ALERTS"):
            return [(labels, value) for labels, ts, value in store if ts == at and labels["__name__"] == "ALERTS"]
        return [({"__name__": "metric"}, 20.0)]

    first = Rule(name="First", expr="metric > 10", key="First")
    second = Rule(name="Second", expr='ALERTS{alertname="First"}', key="Second")
    outcome = engine.evaluate_group(Group("order", (first, second), INTERVAL), {}, 0, read, store.extend)
    (derived,) = outcome.states["Second"].alerts.values()
    assert derived.labels == {"alertname": "Second", "alertstate": "firing"} and derived.state == "firing"
    assert not math.isnan(derived.value)


def test_a_for_shorter_than_the_interval_fires_at_the_second_evaluation_and_zero_for_at_once():
    """ZeroFor_SmallFor: `for: 15s` with a 30 s interval fires at the evaluation after the one that saw it pending,
    not before; `for: 0` skips pending (and is re-sent a resend delay later)."""
    small = Rule(name="Small", expr="m > 13", for_ms=15 * S, key="Small")
    zero = Rule(name="Zero", expr="m > 10", key="Zero")
    group = Group("ZeroFor_SmallFor", (zero, small), interval_ms=INTERVAL)
    states, seen = {}, []
    for now in (0, INTERVAL, 2 * INTERVAL):
        outcome = engine.evaluate_group(group, states, now, lambda expr, at: [({"__name__": "m"}, 20.0)], None, RESEND)
        states = outcome.states
        (z,), (s,) = states["Zero"].alerts.values(), states["Small"].alerts.values()
        seen.append((z.state, s.state, [rule.name for rule, _, _ in outcome.sent]))
    assert seen == [("firing", "pending", ["Zero"]), ("firing", "firing", ["Small"]), ("firing", "firing", ["Zero"])]
