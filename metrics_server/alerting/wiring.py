"""What connects alerting to the rest of the server: the instant query (the PromQL engine over our storage),
the write-back of ALERTS and recording rules through the ingest path, the receivers from the configuration,
and the evaluator thread each instance starts."""
import logging
import math
import os
import socket
import struct
from pathlib import Path

import numpy as np
from flask import Flask

from metrics_server import promql
from metrics_server.alerting.engine import InstantQuery
from metrics_server.alerting.evaluator import Evaluator, OwnedWrite
from metrics_server.alerting.metrics import AlertMetrics
from metrics_server.alerting.notify import Notifier, Receiver
from metrics_server.alerting.rules import Group, RuleError, parse_groups
from metrics_server.ingest.columns import Batch, distinct_label_sets
from metrics_server.ingest.rules import Quota, write_batch
from metrics_server.limits import QueryLimits
from metrics_server.model import Metric
from metrics_server.protocols.prometheus import is_stale
from metrics_server.query.gateway import Gateway
from metrics_server.query.promsource import StoreSource
from metrics_server.storage.alerts import AlertStore

log = logging.getLogger(__name__)
# A NaN result as Go's math.NaN() spells it: a value, never the NaN that stands for "no value" in a Batch
NAN_VALUE = struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000001))[0]


def alert_store(app: Flask) -> AlertStore:
    """The app's alerting tables, made on first use."""
    if "alerts" not in app.extensions:
        config = app.config["METRICS_SERVER"]
        app.extensions["alerts"] = AlertStore(app.extensions["db"], config["alert_history_days"])
    return app.extensions["alerts"]


def source(app: Flask, prefixes: tuple[str, ...]) -> StoreSource:
    """PromQL over a fresh gateway to the app's stores: one query's budget (max_query_reads) and only the metrics
    the prefixes cover (the deadline is the evaluator's, around each query). Raw samples only: a rule looks at the
    newest minutes, which have no settled rollups, and a stale marker must end a series at once (rollups keep
    no NaN, see Staleness in the README)."""
    return StoreSource(Gateway(app.extensions["registry"], app.extensions["points"], None,
                               QueryLimits.of(app.config["METRICS_SERVER"]), prefixes))


def instant_query(app: Flask) -> InstantQuery:
    """`(expr, at_ms, prefixes=()) -> [(labels, value)]` over the app's stores, through the PromQL engine;
    with prefixes, only the metrics they cover exist."""
    def query(expr: str, at_ms: int, prefixes: tuple[str, ...] = ()) -> list[tuple[dict[str, str], float]]:
        return promql.evaluate_instant(expr, at_ms, source(app, prefixes))
    return query


def backtest_query(app: Flask, group: Group, start: int, end: int) -> InstantQuery:
    """The instant query a backtest of `group` makes at each step, answered from one range query per rule
    expression (a range query is the instant query at every step, computed at once: a 6 h backtest at 10 s is
    one read instead of 2,160); other expressions (a template's `query`) are evaluated one instant at a time."""
    group_source = source(app, group.metric_prefixes)
    first = -(-start // group.interval_ms) * group.interval_ms - group.query_offset_ms
    answers: dict[str, dict[int, list]] = {}
    for expr in {e for rule in group.rules for e in (rule.expr, rule.keep_firing_while, rule.data_expr) if e}:
        steps: dict[int, list] = {}
        for labels, times, values in promql.evaluate_range(expr, first, end - group.query_offset_ms,
                                                           group.interval_ms, group_source):
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


def writer(app: Flask) -> OwnedWrite:
    """Samples (labels with __name__, ms, value) stored through the ingest path. A metric the rules create
    (ALERTS, ALERTS_FOR_STATE, a recording rule's) has open labels, as remote_write creates them: each series
    keeps exactly its own labels, so one alert's series stays one series when another rule brings a new label
    (padding keys with "" made two series of identical labels, which the compliance tester saw as duplicates). A
    metric defined beforehand with fixed label keys gets the new keys, and a sample stores those it lacks empty.
    Numbers and infinities are stored first, NaN results and stale markers after them, so that one odd value
    never costs the evaluation its other samples; a sample whose labels storage refuses (a newline in a
    templated label) is left out and logged, not the whole evaluation. What they make counts against the
    group's owner's caps when it is an API token (a 400 that the rule reports as its error)."""
    registry, config = app.extensions["registry"], app.config["METRICS_SERVER"]

    def new_metric(name: str, labels: dict[str, str], config: dict, index: int | None) -> Metric:
        return Metric(name=name, type="gauge", open_labels=True, partition_hours=config["partition_hours"],
                      retention_days=config["default_retention_days"])

    def store(rows: list[tuple[str, dict[str, str], int, float]], quota: Quota | None) -> None:
        label_sets, codes = distinct_label_sets([labels for _, labels, _, _ in rows])
        batch = Batch([name for name, _, _, _ in rows], label_sets, codes,
                      np.array([value for _, _, _, value in rows], dtype=np.float64),
                      np.array([at for _, _, at, _ in rows], dtype=np.int64))
        write_batch(registry, app.extensions["points"], app.extensions["rollups"], batch, config, new_metric, quota)

    def fixed_keys(samples: list[tuple[dict[str, str], int, float]]) -> dict[str, list[str]]:
        """The label keys of each named metric that exists with fixed keys, widened to what the samples hold."""
        wanted: dict[str, set[str]] = {}
        for labels, _, _ in samples:
            wanted.setdefault(labels["__name__"], set()).update(k for k in labels if k != "__name__")
        out = {}
        for name, keys in wanted.items():
            metric = registry.get(name, fresh=True)
            if metric is None or metric.open_labels:
                continue
            while not keys <= set(metric.label_keys):
                metric = registry.add_label_keys(metric, keys)
            out[name] = sorted(metric.label_keys)
        return out

    def write(samples: list[tuple[dict[str, str], int, float]], owner: str) -> None:
        quota = Quota.of(app.extensions["usage"], owner)
        fixed = fixed_keys(samples)
        rows, refused = [], []
        for labels, at, value in samples:
            name = labels["__name__"]
            own = {key: text for key, text in labels.items() if key != "__name__"}
            row = (name, {key: own.get(key, "") for key in fixed[name]} if name in fixed else own, at,
                   value if not math.isnan(value) or is_stale(value) else NAN_VALUE)
            (rows if distinct_label_sets([row[1]])[0] is not None else refused).append(row)
        if refused:
            log.warning("%d rule sample(s) not stored: storage refuses their labels, e.g. %s", len(refused),
                        refused[0][1])
        for part in ([row for row in rows if not math.isnan(row[3])], [row for row in rows if math.isnan(row[3])]):
            if part:
                store(part, quota)
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
