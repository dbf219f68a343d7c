"""The alert state machine, pure: (rule, alerts before, query result, evaluation time) → (alerts after,
transitions). No clock, no I/O: the evaluator, the backtest and the tests all drive it with explicit times.

It follows the Prometheus alert-generator compliance specification 1.0 and rules/alerting.go:
- every result element is one alert, identified by its labels (without __name__) + the rule's labels +
  alertname; two elements with the same identity are an error for the whole rule;
- new → pending (ActiveAt = now), firing once now - ActiveAt >= for (at once when for is 0);
- an alert missing from the result: pending is dropped, firing becomes inactive (ResolvedAt = now) unless
  keep_firing_for holds it; inactive alerts are kept 15 minutes, re-sent as resolved;
- firing alerts are (re)sent when they start firing and then every resend delay rounded up to the group
  interval (the spec's "first multiple of the interval >= ResendDelay"; Prometheus' code waits one interval
  more), with endsAt = now + 4 x max(resend delay, interval); resolved ones with endsAt = ResolvedAt.
Extensions (rules.py): keep_firing_while (hysteresis), no_data policies, mute_until.
"""
import math
import struct
from collections.abc import Iterable
from dataclasses import dataclass, replace

from metrics_server.alerting.rules import Rule
from metrics_server.protocols.prometheus import STALE_NAN_BITS

PENDING, FIRING, INACTIVE = "pending", "firing", "inactive"
RESOLVED_RETENTION_MS = 15 * 60_000  # rules/alerting.go resolvedRetention; the spec's 15 minutes
OUTAGE_TOLERANCE_MS = 60 * 60_000  # Prometheus' --rules.alert.for-outage-tolerance: older state is not restored
FNV_OFFSET, FNV_PRIME = 14695981039346656037, 1099511628211
SEEN_MEMORY_MS = 24 * 3_600_000  # how long a series that stopped reporting counts as "no data" (not "gone")
# Prometheus' stale marker as a float: it ends a series for PromQL's lookback
STALE_NAN = struct.unpack("<d", struct.pack("<Q", STALE_NAN_BITS))[0]


class DuplicateAlert(ValueError):
    """Two result elements gave the same alert labels (spec, step 4: the rule errors, nothing is sent)."""


def fingerprint(labels: dict[str, str]) -> str:
    """Alertmanager's fingerprint of a label set (FNV-1a 64 over sorted name, 0xff, value, 0xff), as 16 hex
    digits: the same identity here, in webhooks and in `amtool`, in every process."""
    digest = FNV_OFFSET
    for name in sorted(labels):
        for part in (name.encode(), b"\xff", labels[name].encode(), b"\xff"):
            for byte in part:
                digest = ((digest ^ byte) * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{digest:016x}"


@dataclass(frozen=True)
class Alert:
    """One alert of a rule; times in epoch milliseconds, None when not (yet) set."""

    labels: dict[str, str]
    annotations: dict[str, str]
    state: str
    value: float
    active_at: int
    fired_at: int | None = None
    resolved_at: int | None = None
    last_sent_at: int | None = None
    valid_until: int | None = None
    keep_firing_since: int | None = None


@dataclass(frozen=True)
class Candidate:
    """A result element made into an alert's identity and texts (labels and annotations already expanded)."""

    labels: dict[str, str]
    annotations: dict[str, str]
    value: float


@dataclass(frozen=True)
class Transition:
    """A change of one alert's state at an evaluation: what history stores and the backtest returns."""

    at: int
    fingerprint: str
    labels: dict[str, str]
    from_state: str
    to_state: str
    value: float


def check_unique(candidates: Iterable[Candidate]) -> dict[str, Candidate]:
    """Candidates by fingerprint; raises DuplicateAlert when two share labels."""
    out: dict[str, Candidate] = {}
    for candidate in candidates:
        key = fingerprint(candidate.labels)
        if key in out:
            raise DuplicateAlert(f"vector contains metrics with the same labelset after applying alert labels: "
                                 f"{candidate.labels}")
        out[key] = candidate
    return out


def step(rule: Rule, alerts: dict[str, Alert], candidates: list[Candidate], now: int,
         holding: dict[str, float] | None = None) -> tuple[dict[str, Alert], list[Transition]]:
    """One evaluation of `rule` at `now`. `holding` maps the fingerprints for which keep_firing_while holds to
    that expression's value: a firing alert among them stays firing."""
    present = check_unique(candidates)
    holding = holding or {}
    after: dict[str, Alert] = {}
    transitions: list[Transition] = []

    def moved(key: str, alert: Alert, before: str) -> None:
        if alert.state != before:
            transitions.append(Transition(now, key, alert.labels, before, alert.state, alert.value))

    for key, candidate in present.items():
        old = alerts.get(key)
        if old is not None and old.state != INACTIVE:
            after[key] = replace(old, value=candidate.value, annotations=candidate.annotations,
                                 keep_firing_since=None)
        else:
            after[key] = Alert(candidate.labels, candidate.annotations, PENDING, candidate.value, active_at=now)
    for key, old in alerts.items():
        if key in present:
            continue
        if old.state == FIRING and key in holding:
            after[key] = replace(old, value=holding[key], keep_firing_since=None)
        elif old.state == FIRING and rule.keep_firing_for_ms > 0 and \
                now - (old.keep_firing_since or now) < rule.keep_firing_for_ms:
            after[key] = replace(old, keep_firing_since=old.keep_firing_since or now)
        elif old.state == PENDING:
            transitions.append(Transition(now, key, old.labels, PENDING, INACTIVE, old.value))
        elif old.state == FIRING:
            after[key] = replace(old, state=INACTIVE, resolved_at=now, keep_firing_since=None)
            moved(key, after[key], FIRING)
        elif old.resolved_at is not None and now - old.resolved_at <= RESOLVED_RETENTION_MS:
            after[key] = old  # inactive, still re-sent as resolved
    for key, alert in list(after.items()):
        before = alerts[key].state if key in alerts and alerts[key].state != INACTIVE else INACTIVE
        if alert.state == PENDING and now - alert.active_at >= rule.for_ms:
            alert = after[key] = replace(alert, state=FIRING, fired_at=now)
        if key in present:
            moved(key, alert, before)
    return after, transitions


def due(alert: Alert, now: int, resend_delay_ms: int) -> bool:
    """Whether the alert goes to Alertmanager at this evaluation (never while pending)."""
    if alert.state == PENDING:
        return False
    if alert.state == INACTIVE:
        if alert.last_sent_at is None or now - alert.resolved_at >= RESOLVED_RETENTION_MS:
            return False  # never announced (it fired while muted), or past the 15 minutes
        if alert.resolved_at > alert.last_sent_at:
            return True
    return alert.last_sent_at is None or now - alert.last_sent_at >= resend_delay_ms


def to_send(rule: Rule, alerts: dict[str, Alert], now: int, resend_delay_ms: int,
            interval_ms: int) -> tuple[dict[str, Alert], list[Alert]]:
    """The alerts due now (with their send time and endsAt recorded) and the updated alerts; nothing while
    the rule is muted, so a firing alert is announced at the first evaluation after mute_until."""
    if rule.mute_until_ms is not None and now < rule.mute_until_ms:
        return alerts, []
    after, sent = dict(alerts), []
    for key, alert in alerts.items():
        if due(alert, now, resend_delay_ms):
            after[key] = replace(alert, last_sent_at=now, valid_until=now + 4 * max(resend_delay_ms, interval_ms))
            sent.append(after[key])
    return after, sent


def ends_at(alert: Alert) -> int:
    """endsAt as sent: ResolvedAt once inactive, else the validity the last send gave it."""
    return alert.resolved_at if alert.state == INACTIVE else alert.valid_until


def series(alerts: dict[str, Alert], at: int) -> list[tuple[dict[str, str], int, float]]:
    """The ALERTS and ALERTS_FOR_STATE samples of the active alerts, as (labels, time ms, value)."""
    out = []
    for alert in alerts.values():
        if alert.state in (PENDING, FIRING):
            out.append(({**alert.labels, "__name__": "ALERTS", "alertstate": alert.state}, at, 1.0))
            out.append(({**alert.labels, "__name__": "ALERTS_FOR_STATE"}, at, float(alert.active_at // 1000)))
    return out


def series_key(labels: dict[str, str]) -> tuple:
    """A series' identity, its sorted labels (__name__ included)."""
    return tuple(sorted(labels.items()))


def stale(before: Iterable[dict[str, str]], samples: list[tuple[dict[str, str], int, float]],
          at: int) -> list[tuple[dict[str, str], int, float]]:
    """A stale marker at `at` for every series written last time and not now, as Prometheus' rule group writes
    them: ALERTS{alertstate="pending"} ends when the alert fires, both ALERTS and ALERTS_FOR_STATE when it
    resolves, a recording rule's series when its element is gone, all of them when the rule errors."""
    now = {series_key(labels) for labels, _, _ in samples}
    return [(labels, at, STALE_NAN) for labels in before if series_key(labels) not in now]


def restore(alerts: dict[str, Alert], last_evaluation: int | None, now: int) -> dict[str, Alert]:
    """State read back after a restart or a takeover, used as it was unless it is older than the outage
    tolerance (then the rule starts afresh, as Prometheus does): `for` is not reset by a short outage."""
    if last_evaluation is None or now - last_evaluation > OUTAGE_TOLERANCE_MS:
        return {}
    return dict(alerts)


def rule_state(alerts: dict[str, Alert]) -> str:
    """firing if any alert fires, else pending if any is pending, else inactive (the API's rule state)."""
    states = {alert.state for alert in alerts.values()}
    return FIRING if FIRING in states else PENDING if PENDING in states else INACTIVE


def bands(transitions: list[Transition], end: int) -> list[dict]:
    """The pending and firing intervals of each alert (what the chart draws as bands), from transitions;
    an interval still open ends at `end`."""
    opened: dict[str, tuple[str, int, dict]] = {}
    out = []
    for t in sorted(transitions, key=lambda t: t.at):
        if t.fingerprint in opened:
            state, start, labels = opened.pop(t.fingerprint)
            out.append({"labels": labels, "state": state, "start": start, "end": t.at})
        if t.to_state in (PENDING, FIRING):
            opened[t.fingerprint] = (t.to_state, t.at, t.labels)
    out += [{"labels": labels, "state": state, "start": start, "end": end} for state, start, labels in opened.values()]
    return sorted(out, key=lambda band: band["start"])


# ---- no data: a series that stops reporting is told apart from one that recovered ----

@dataclass(frozen=True)
class Seen:
    """A series of the rule's data_expr: when it last reported, and whether the condition then held."""

    labels: dict[str, str]
    last_seen: int
    condition: bool
    value: float


def no_data(policy: str, result: list[tuple[dict, float]], data: list[tuple[dict, float]],
            seen: dict[str, Seen], now: int) -> tuple[list[tuple[dict, float]], dict[str, Seen]]:
    """The query result with the policy applied to series that stopped reporting, and the updated memory.

    `result` and `data` are the instant results of expr and data_expr (labels without __name__). A series
    of data_expr seen in the last 24 h that is missing now has no data: ok leaves the result alone (the
    alert resolves, as in Prometheus), alerting adds it (as if the condition held), keep_last adds it when
    the condition held when it last reported, nodata adds it with the label nodata="true" (a separate alert,
    so that "no data" is never reported as "resolved").
    """
    in_result = {fingerprint(labels): value for labels, value in result}
    memory = {key: entry for key, entry in seen.items() if now - entry.last_seen <= SEEN_MEMORY_MS}
    reporting = set()
    for labels, value in data:
        key = fingerprint(labels)
        reporting.add(key)
        memory[key] = Seen(labels, now, key in in_result, in_result.get(key, value))
    extra = []
    for key, entry in memory.items():
        if key in reporting or key in in_result:
            continue
        if policy == "alerting" or (policy == "keep_last" and entry.condition):
            extra.append((entry.labels, entry.value if policy == "keep_last" else math.nan))
        elif policy == "nodata":
            extra.append(({**entry.labels, "nodata": "true"}, math.nan))
    return list(result) + extra, memory
