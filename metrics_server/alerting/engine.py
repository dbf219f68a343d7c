"""One evaluation of a rule group at one time: query, alerts, transitions, ALERTS series, what to send.

The live evaluator and the backtest both call `evaluate_group`; only what they do with the outcome differs
(store and notify, or just collect the transitions). The query is any "instant query" callable
`(expr, at_ms) -> [(labels, value), ...]` (the PromQL engine over our storage), which for a group limited to
metric prefixes is also given `prefixes=` (it must then see no other metric); `write` receives the
samples of recording rules and of ALERTS/ALERTS_FOR_STATE right after each rule, so later rules of the
group can read them in the same cycle (spec, constraint 1).
"""
import functools
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from metrics_server.alerting import state as sm
from metrics_server.alerting import templates
from metrics_server.alerting.rules import Group, Rule
from metrics_server.errors import one_line
from metrics_server.limits import check_deadline

log = logging.getLogger(__name__)
InstantQuery = Callable[[str, int], list[tuple[dict[str, str], float]]]
Write = Callable[[list[tuple[dict[str, str], int, float]]], None]
DEFAULT_RESEND_DELAY_MS = 60_000  # the spec's default ResendDelay
MAX_BACKTEST_STEPS = 10_000  # a day at 10 s: one query each, so a backtest answers within a request's time


@dataclass
class RuleState:
    """What survives between evaluations of a rule (and is stored in Cassandra to survive a restart)."""

    alerts: dict[str, sm.Alert] = field(default_factory=dict)
    seen: dict[str, sm.Seen] = field(default_factory=dict)
    health: str = "unknown"
    last_error: str = ""
    last_evaluation: int | None = None
    evaluation_seconds: float = 0.0
    written: list[dict[str, str]] = field(default_factory=list)  # the series of the last evaluation


@dataclass
class Outcome:
    """The result of one group evaluation."""

    states: dict[str, RuleState]
    transitions: list[tuple[Rule, sm.Transition]] = field(default_factory=list)
    sent: list[tuple[Rule, sm.Alert, bool]] = field(default_factory=list)  # (rule, alert, first announcement)
    seconds: float = 0.0


def without_name(labels: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in labels.items() if name != "__name__"}


def candidate(rule: Rule, labels: dict[str, str], value: float, at: int, query: InstantQuery | None,
              external_url: str = "") -> sm.Candidate:
    """Spec steps 1-3 for one element: its labels, the rule's labels and annotations expanded with its
    labels and value, alertname last. A template that fails shows its error as the text, as in Prometheus."""
    context = templates.Context(labels=without_name(labels), value=value, time_ms=at, query=query,
                                external_url=external_url)

    def expand(text: str) -> str:
        try:
            return templates.expand(text, context)
        except templates.TemplateError as error:
            return f"<error expanding template: {error}>"

    identity = without_name(labels)
    identity.update({name: expand(text) for name, text in rule.labels.items()})
    identity["alertname"] = rule.name
    return sm.Candidate(identity, {name: expand(text) for name, text in rule.annotations.items()}, value)


def evaluate_rule(rule: Rule, prior: RuleState, now: int, at: int, query: InstantQuery, limit: int = 0,
                  external_url: str = "") -> tuple[RuleState, list[sm.Transition], list[tuple[dict, int, float]]]:
    """One alerting or recording rule; raises what the query raises (the caller records the error)."""
    result = [(without_name(labels), float(value)) for labels, value in query(rule.expr, at)]
    if rule.kind == "recording":
        samples = [({**labels, **rule.labels, "__name__": rule.name}, at, value) for labels, value in result]
        return replace(prior, health="ok", last_error=""), [], samples
    seen = prior.seen
    if rule.no_data != "ok":
        data = [(without_name(labels), float(value)) for labels, value in query(rule.data_expr, at)]
        result, seen = sm.no_data(rule.no_data, result, data, prior.seen, now)
    candidates = [candidate(rule, labels, value, at, query, external_url) for labels, value in result]
    holding = {}
    if rule.keep_firing_while and any(alert.state == sm.FIRING for alert in prior.alerts.values()):
        for labels, value in query(rule.keep_firing_while, at):
            held = candidate(rule, labels, float(value), at, None, external_url)
            holding[sm.fingerprint(held.labels)] = float(value)
    alerts, transitions = sm.step(rule, prior.alerts, candidates, now, holding)
    active = sum(1 for alert in alerts.values() if alert.state != sm.INACTIVE)
    if limit and active > limit:
        raise LimitExceeded(f"exceeded limit of {limit} with {active} alerts")
    state = replace(prior, alerts=alerts, seen=seen, health="ok", last_error="")
    return state, transitions, sm.series(alerts, at)


def store(write: Write, group: str, rule: str, samples: list[tuple[dict[str, str], int, float]]) -> str:
    """Write a rule's samples; returns why they could not be (empty: stored). A failure is never raised: alerts
    still go out, and the rule reports it as its error (as Prometheus does when appending fails)."""
    try:
        write(samples)
    except Exception as error:
        log.warning("cannot write the samples of rule %s/%s: %s", group, rule, error)
        return f"cannot store the rule's samples: {one_line(error)}"
    return ""


class LimitExceeded(RuntimeError):
    """More active alerts than the group's limit: Prometheus drops them all and reports the rule as failed."""


def evaluate_group(group: Group, states: dict[str, RuleState], now: int, query: InstantQuery,
                   write: Write | None = None, resend_delay_ms: int = DEFAULT_RESEND_DELAY_MS,
                   external_url: str = "") -> Outcome:
    """Every rule of `group` in order at evaluation time `now` (queries at now - query_offset)."""
    started = time.perf_counter()
    at = now - group.query_offset_ms
    outcome = Outcome(states={})
    if group.metric_prefixes:  # the group's owner's limit binds its rules, templates' queries included
        query = functools.partial(query, prefixes=group.metric_prefixes)
    enabled = [rule for rule in group.rules if not rule.disabled]
    removed = set(states) - {rule.key for rule in enabled}
    if write is not None and removed:  # rules taken out of the group or disabled: their series end now
        store(write, group.name, "(removed rules)", sm.stale(
            [labels for key in removed for labels in states[key].written], [], at))
    for rule in enabled:
        rule_started = time.perf_counter()
        prior = states.get(rule.key, RuleState())
        samples = []
        try:
            state, transitions, samples = evaluate_rule(rule, prior, now, at, query, group.limit, external_url)
        except Exception as error:  # a failing rule must not stop the group (spec: reported in /rules)
            log.info("rule %s/%s failed: %s", group.name, rule.name, error)
            cleared = {} if isinstance(error, LimitExceeded) else prior.alerts
            state, transitions = replace(prior, alerts=cleared, health="err", last_error=str(error) or
                                         type(error).__name__), []
        ended = sm.stale(prior.written, samples, at)
        state.written = [labels for labels, _, _ in samples]
        refused = store(write, group.name, rule.name, samples + ended) if write is not None and (samples or ended) \
            else ""
        before, sent = state.alerts, []
        if state.health == "ok":  # a failed evaluation sends nothing (spec, step 4)
            state.alerts, sent = sm.to_send(rule, state.alerts, now, resend_delay_ms, group.interval_ms)
        for alert in sent:
            key = sm.fingerprint(alert.labels)
            previous = before[key].last_sent_at
            first = previous is None or (alert.state == sm.INACTIVE and alert.resolved_at > previous)
            outcome.sent.append((rule, alert, first))
        if refused:  # after the sending: a by-product refused does not hold the alerts back
            state.health, state.last_error = "err", refused
        state.last_evaluation = now
        state.evaluation_seconds = time.perf_counter() - rule_started
        outcome.states[rule.key] = state
        outcome.transitions.extend((rule, transition) for transition in transitions)
    outcome.seconds = time.perf_counter() - started
    return outcome


def state_to_json(state: RuleState) -> dict[str, Any]:
    """A rule's state as JSON (NaN values as null), for Cassandra."""
    def number(value: float) -> float | None:
        return None if math.isnan(value) else value
    return {
        "alerts": [{**alert.__dict__, "value": number(alert.value)} for alert in state.alerts.values()],
        "seen": [{**entry.__dict__, "value": number(entry.value)} for entry in state.seen.values()],
        "health": state.health, "last_error": state.last_error, "last_evaluation": state.last_evaluation,
        "evaluation_seconds": state.evaluation_seconds, "written": state.written,
    }


def state_from_json(data: dict[str, Any]) -> RuleState:
    """The inverse of state_to_json."""
    def number(value: float | None) -> float:
        return math.nan if value is None else float(value)
    alerts = [sm.Alert(**{**item, "value": number(item["value"])}) for item in data.get("alerts", [])]
    seen = [sm.Seen(**{**item, "value": number(item["value"])}) for item in data.get("seen", [])]
    return RuleState(
        alerts={sm.fingerprint(alert.labels): alert for alert in alerts},
        seen={sm.fingerprint(entry.labels): entry for entry in seen},
        health=data.get("health", "unknown"), last_error=data.get("last_error", ""),
        last_evaluation=data.get("last_evaluation"), evaluation_seconds=data.get("evaluation_seconds", 0.0),
        written=data.get("written", []))


def backtest_steps(group: Group, start: int, end: int) -> range:
    """The evaluation times of a backtest: the group's interval grid (as the live evaluator places them) within
    [start, end]; a ValueError when there are more than MAX_BACKTEST_STEPS."""
    first = -(-start // group.interval_ms) * group.interval_ms
    if (end - first) // group.interval_ms >= MAX_BACKTEST_STEPS:
        raise ValueError(f"the range holds more than {MAX_BACKTEST_STEPS} evaluations at the group's interval "
                         f"({group.interval_ms // 1000}s): shorten it or lengthen the interval")
    return range(first, end + 1, group.interval_ms)


def backtest(group: Group, query: InstantQuery, start: int, end: int,
             resend_delay_ms: int = DEFAULT_RESEND_DELAY_MS) -> list[tuple[Rule, sm.Transition]]:
    """The transitions the group's rules would have produced between start and end (evaluations on the
    interval grid, as the live evaluator places them), from the same evaluation code and no side effects."""
    states: dict[str, RuleState] = {}
    transitions = []
    for now in backtest_steps(group, start, end):
        check_deadline()  # the caller's query deadline bounds the whole replay, templates included
        outcome = evaluate_group(group, states, now, query, None, resend_delay_ms)
        states = outcome.states
        transitions.extend(outcome.transitions)
    return transitions
