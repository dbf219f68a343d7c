"""What connects alerting to the rest of the server: the instant query (the PromQL engine over our storage),
the write-back of ALERTS and recording rules through the ingest path, the receivers from the configuration,
and the evaluator thread each instance starts."""
import logging
import os
import socket
from pathlib import Path

from flask import Flask

from metrics_server import promql
from metrics_server.alerting.engine import InstantQuery, Write
from metrics_server.alerting.evaluator import Evaluator
from metrics_server.alerting.metrics import AlertMetrics
from metrics_server.alerting.notify import Notifier, Receiver
from metrics_server.alerting.rules import Group, RuleError, parse_groups
from metrics_server.ingest.columns import FAST_FIELDS, fast_batch
from metrics_server.ingest.rules import write_batch
from metrics_server.query.promsource import StoreSource
from metrics_server.storage.alerts import AlertStore

log = logging.getLogger(__name__)


def alert_store(app: Flask) -> AlertStore:
    """The app's alerting tables, made on first use."""
    if "alerts" not in app.extensions:
        config = app.config["METRICS_SERVER"]
        app.extensions["alerts"] = AlertStore(app.extensions["db"], config["alert_history_days"])
    return app.extensions["alerts"]


def instant_query(app: Flask) -> InstantQuery:
    """`(expr, at_ms, prefixes=()) -> [(labels, value)]` over the app's stores, through the PromQL engine;
    with prefixes, only the metrics they cover exist."""
    def query(expr: str, at_ms: int, prefixes: tuple[str, ...] = ()) -> list[tuple[dict[str, str], float]]:
        source = StoreSource(app.extensions["registry"], app.extensions["points"], prefixes=prefixes)
        return promql.evaluate_instant(expr, at_ms, source)
    return query


def backtest_query(app: Flask, group: Group, start: int, end: int) -> InstantQuery:
    """The instant query a backtest of `group` makes at each step, answered from one range query per rule
    expression (a range query is the instant query at every step, computed at once: a 6 h backtest at 10 s is
    one read instead of 2,160); other expressions (a template's `query`) are evaluated one instant at a time."""
    source = StoreSource(app.extensions["registry"], app.extensions["points"], prefixes=group.metric_prefixes)
    first = -(-start // group.interval_ms) * group.interval_ms - group.query_offset_ms
    answers: dict[str, dict[int, list]] = {}
    for expr in {e for rule in group.rules for e in (rule.expr, rule.keep_firing_while, rule.data_expr) if e}:
        steps: dict[int, list] = {}
        for labels, times, values in promql.evaluate_range(expr, first, end - group.query_offset_ms,
                                                           group.interval_ms, source):
            for at, value in zip(times.tolist(), values.tolist()):
                steps.setdefault(at, []).append((labels, value))
        answers[expr] = steps
    fallback = instant_query(app)

    def query(expr: str, at_ms: int, prefixes: tuple[str, ...] = ()) -> list[tuple[dict[str, str], float]]:
        return answers[expr].get(at_ms, []) if expr in answers else fallback(expr, at_ms, prefixes)
    return query


def check_expr(expr: str) -> None:
    """Rule validation's PromQL check: raises ValueError with the parser's message."""
    try:
        promql.parse(expr)
    except promql.PromQLError as error:
        raise ValueError(str(error)) from None


def writer(app: Flask) -> Write:
    """Samples (labels with __name__, ms, value) stored as /api/write stores them. A metric whose label sets
    vary (ALERTS) gets every key it sees; a sample stores the keys it lacks empty (absent to PromQL)."""
    registry, config = app.extensions["registry"], app.config["METRICS_SERVER"]

    def write(samples: list[tuple[dict[str, str], int, float]]) -> None:
        keys: dict[str, set[str]] = {}
        for labels, _, _ in samples:
            keys.setdefault(labels["__name__"], set()).update(k for k in labels if k != "__name__")
        for name, wanted in keys.items():
            metric = registry.get(name, fresh=True)
            while metric is not None and not wanted <= set(metric.label_keys):
                metric = registry.add_label_keys(metric, wanted)
            keys[name] = set(metric.label_keys) if metric is not None else wanted
        items = [{"name": labels["__name__"], "timestamp": at, "value": value,
                  "labels": {key: labels.get(key, "") for key in sorted(keys[labels["__name__"]])}}
                 for labels, at, value in samples]
        write_batch(registry, app.extensions["points"], app.extensions["rollups"], fast_batch(items, FAST_FIELDS),
                    config)
    return write


def read_rule_file(path: str) -> list:
    """The groups of a Prometheus rule file, validated (a RuleError names the group, the rule and the field)."""
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise RuleError(f"rule file {path}: {error.strerror}") from None
    return parse_groups(text, check_expr)


def start_evaluator(app: Flask) -> Evaluator | None:
    """This instance's evaluator and notifier threads (it evaluates only while it holds the lease)."""
    config = app.config["METRICS_SERVER"]
    if not config["alerting"]:
        return None
    store = alert_store(app)
    path = config["alert_rules_file"]
    from_file = read_rule_file(path) if path else []
    metrics = AlertMetrics(app.extensions["selfmetrics"].registry)
    receivers = [Receiver(f"alertmanager-{i}", "alertmanager", url) for i, url in enumerate(config["alertmanagers"])]
    receivers += [Receiver(f"webhook-{i}", "webhook", url) for i, url in enumerate(config["alert_webhooks"])]
    notifier = Notifier(receivers, record=store.record_delivery, on_result=metrics.delivered).start()
    external_url = config["external_url"] or f"http://{socket.gethostname()}:{config['port']}"
    evaluator = Evaluator(store, instant_query(app), writer(app), notifier,
                          holder=f"{socket.gethostname()}:{config['port']}:{os.getpid()}",
                          lease_seconds=config["alert_lease_seconds"],
                          resend_delay_ms=int(config["alert_resend_delay"] * 1000), external_url=external_url,
                          metrics=metrics, from_file=(path, from_file))
    evaluator.start()
    return evaluator
