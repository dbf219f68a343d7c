"""What connects alerting to the rest of the server: the instant query (the PromQL engine over our storage),
the write-back of ALERTS and recording rules through the ingest path, the receivers from the configuration,
and the evaluator thread each instance starts."""
import logging
import math
import os
import socket
from pathlib import Path

import numpy as np
from flask import Flask

from metrics_server import promql
from metrics_server.alerting.engine import InstantQuery, Write
from metrics_server.alerting.evaluator import Evaluator
from metrics_server.alerting.metrics import AlertMetrics
from metrics_server.alerting.notify import Notifier, Receiver
from metrics_server.alerting.rules import Group, RuleError, parse_groups
from metrics_server.ingest.columns import Batch, distinct_label_sets
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
    """`(expr, at_ms) -> [(labels, value)]` over the app's stores, through the PromQL engine."""
    source = StoreSource(app.extensions["registry"], app.extensions["points"])

    def query(expr: str, at_ms: int) -> list[tuple[dict[str, str], float]]:
        return promql.evaluate_instant(expr, at_ms, source)
    return query


def backtest_query(app: Flask, group: Group, start: int, end: int) -> InstantQuery:
    """The instant query a backtest of `group` makes at each step, answered from one range query per rule
    expression (a range query is the instant query at every step, computed at once: a 6 h backtest at 10 s is
    one read instead of 2,160); other expressions (a template's `query`) are evaluated one instant at a time."""
    source = StoreSource(app.extensions["registry"], app.extensions["points"])
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

    def query(expr: str, at_ms: int) -> list[tuple[dict[str, str], float]]:
        return answers[expr].get(at_ms, []) if expr in answers else fallback(expr, at_ms)
    return query


def check_expr(expr: str) -> None:
    """Rule validation's PromQL check: raises ValueError with the parser's message."""
    try:
        promql.parse(expr)
    except promql.PromQLError as error:
        raise ValueError(str(error)) from None


def writer(app: Flask) -> Write:
    """Samples (labels with __name__, ms, value) stored as /api/write stores them. A metric whose label sets
    vary (ALERTS) gets every key it sees; a sample stores the keys it lacks empty (absent to PromQL). Numbers
    and infinities are stored first, NaN results and stale markers after them, so that one odd value never
    costs the evaluation its other samples; a sample whose labels storage refuses (a newline in a templated
    label) is left out and logged, not the whole evaluation."""
    registry, config = app.extensions["registry"], app.config["METRICS_SERVER"]

    def store(samples: list[tuple[dict[str, str], int, float]]) -> None:
        label_sets, codes = distinct_label_sets([labels for _, labels, _, _ in samples])
        batch = Batch([name for name, _, _, _ in samples], label_sets, codes,
                      np.array([value for _, _, _, value in samples], dtype=np.float64),
                      np.array([at for _, _, at, _ in samples], dtype=np.int64))
        write_batch(registry, app.extensions["points"], app.extensions["rollups"], batch, config)

    def write(samples: list[tuple[dict[str, str], int, float]]) -> None:
        keys: dict[str, set[str]] = {}
        for labels, _, _ in samples:
            keys.setdefault(labels["__name__"], set()).update(k for k in labels if k != "__name__")
        for name, wanted in keys.items():
            metric = registry.get(name, fresh=True)
            while metric is not None and not wanted <= set(metric.label_keys):
                metric = registry.add_label_keys(metric, wanted)
            keys[name] = set(metric.label_keys) if metric is not None else wanted
        rows, refused = [], []
        for labels, at, value in samples:
            name = labels["__name__"]
            row = (name, {key: labels.get(key, "") for key in sorted(keys[name])}, at, value)
            (rows if distinct_label_sets([row[1]])[0] is not None else refused).append(row)
        if refused:
            log.warning("%d rule sample(s) not stored: storage refuses their labels, e.g. %s", len(refused),
                        refused[0][1])
        numbers = [row for row in rows if not math.isnan(row[3])]
        for part in (numbers, [row for row in rows if math.isnan(row[3])]):
            if part:
                store(part)
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
                          metrics=metrics, from_file=(path, from_file), timeout=config["query_timeout"])
    evaluator.start()
    return evaluator
