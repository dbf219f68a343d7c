"""Alerting's self-metrics, in the instance's Prometheus registry (GET /metrics)."""
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from metrics_server.alerting import state as sm


class AlertMetrics:
    """Evaluations and their duration, failed rules, notifications sent and failed, rules and alerts by state,
    and whether this instance holds the evaluator lease."""

    def __init__(self, registry: CollectorRegistry):
        self.evaluations = Counter("metrics_server_alert_group_evaluations", "Rule group evaluations",
                                   ("group",), registry=registry)
        self.failures = Counter("metrics_server_alert_rule_evaluation_failures", "Rule evaluations that failed",
                                ("group",), registry=registry)
        self.duration = Histogram("metrics_server_alert_group_evaluation_duration_seconds",
                                  "Time to evaluate a rule group", ("group",), registry=registry,
                                  buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30))
        self.notifications = Counter("metrics_server_alert_notifications", "Notification payloads delivered or "
                                     "given up", ("receiver", "result"), registry=registry)
        self.rules = Gauge("metrics_server_alert_rules", "Alerting rules by state", ("state",), registry=registry)
        self.alerts = Gauge("metrics_server_alerts", "Alerts by state", ("state",), registry=registry)
        self.leader = Gauge("metrics_server_alert_evaluator_leader", "1 while this instance holds the evaluator "
                            "lease", registry=registry)
        self._by_group: dict[str, tuple[list[str], list[str]]] = {}

    def observe(self, group, outcome) -> None:
        """Count one group evaluation and refresh the by-state gauges."""
        self.evaluations.labels(group.name).inc()
        self.duration.labels(group.name).observe(outcome.seconds)
        failed = sum(1 for state in outcome.states.values() if state.health == "err")
        if failed:
            self.failures.labels(group.name).inc(failed)
        self._by_group[group.name] = (
            [sm.rule_state(state.alerts) for state in outcome.states.values()],
            [alert.state for state in outcome.states.values() for alert in state.alerts.values()])
        for gauge, index in ((self.rules, 0), (self.alerts, 1)):
            for name in (sm.PENDING, sm.FIRING, sm.INACTIVE):
                gauge.labels(name).set(sum(states[index].count(name) for states in self._by_group.values()))

    def delivered(self, receiver, ok: bool) -> None:
        self.notifications.labels(receiver.name, "sent" if ok else "failed").inc()
