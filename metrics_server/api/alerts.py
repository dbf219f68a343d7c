"""Alerting over HTTP: Prometheus' GET /api/v1/rules and /api/v1/alerts (the compliance specification's
format), rule group management under /api/alerts/rules (a body is a group as in a rule file, JSON or YAML),
alerts now, the history of transitions, delivery attempts, and backtests.

A group records who saved it and the metric prefixes its rules are limited to (the saver's, metrics_server/auth):
a request that does not cover them does not see the group, its alerts or its history; any writer that covers them
may replace or delete it."""
import time
from dataclasses import replace

from flask import Blueprint, current_app, g, request

from metrics_server import auth, promql
from metrics_server.alerting import engine
from metrics_server.alerting import state as sm
from metrics_server.alerting.gofmt import go_e
from metrics_server.alerting.rules import Group, RuleError, iso, load_text, parse_group, parse_rule
from metrics_server.alerting.wiring import alert_store, backtest_query, check_expr
from metrics_server.api.body import json_body
from metrics_server.api.openapi import documented
from metrics_server.errors import ApiError, Conflict, NotFound
from metrics_server.jsonio import json_response
from metrics_server.limits import QueryLimits, deadline
from metrics_server.query.timeparse import parse_instant

blueprint = Blueprint("alerts", __name__)
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")
ZERO_TIME = "0001-01-01T00:00:00Z"  # Prometheus' lastEvaluation of a rule never evaluated
DEFAULT_RANGE_MS = 86_400_000


def body() -> dict:
    """The request body as JSON or (Content-Type application/yaml) YAML."""
    if request.mimetype in YAML_TYPES:
        try:
            return load_text(request.get_data(as_text=True))
        except RuleError as error:
            raise ApiError(f"request body is {error}", 400) from None
    return json_body()


def group_of(raw, name: str | None = None) -> Group:
    """A validated group; a 400 names the group, the rule and the field."""
    if name is not None and isinstance(raw, dict):
        if raw.get("name") not in (None, name):
            raise ApiError(f"name: the body names group {raw.get('name')!r}, the path {name!r}", 400, field="name")
        raw = {**raw, "name": name}
    try:
        return parse_group(raw, check_expr=check_expr)
    except RuleError as error:
        raise ApiError(str(error), 400, group=error.group, rule=error.rule, field=error.field) from None


def owned(group: Group, owner: str | None = None) -> Group:
    """The group as the request saves it: its owner recorded, its rules limited to the metric prefixes asked
    within the requester's own (the requester's when none are asked)."""
    prefixes = auth.granted(group.metric_prefixes, f"rule group {group.name!r}")
    return group_of({**group.to_dict(), "owner": owner or auth.principal().ident, "metric_prefixes": list(prefixes)})


def visible(body_: dict | None) -> bool:
    """Whether the request covers a stored group's metric prefixes (others do not exist for it)."""
    return body_ is not None and auth.may_see(body_.get("metric_prefixes") or ())


def changeable(name: str) -> dict | None:
    """The stored group, when the request may replace or delete it (whoever may write and covers its metric
    prefixes); None when none."""
    found = alert_store(current_app).group(name)
    if found is not None and not visible(found):
        raise NotFound(f"rule group {name!r} not found")
    return found


def time_range() -> tuple[int, int]:
    """start and end from the query string (default: the last 24 h)."""
    now = int(time.time() * 1000)
    try:
        end = parse_instant(request.args.get("end", "now"), now)
        start = parse_instant(request.args["start"], now) if "start" in request.args else end - DEFAULT_RANGE_MS
    except ValueError as error:
        raise ApiError(f"start/end: {error}", 400) from None
    if start > end:
        raise ApiError("start: must not be after end", 400, field="start")
    return start, end


def limit_arg(default: int = 1000) -> int:
    try:
        value = int(request.args.get("limit", default))
    except ValueError:
        value = 0
    if not 1 <= value <= 10_000:
        raise ApiError("limit: expected an integer from 1 to 10000", 400, field="limit")
    return value


def stored_groups() -> list[tuple[Group, str, dict[str, engine.RuleState]]]:
    """Every group, its source and its rules' state as the evaluator last stored it."""
    store = alert_store(current_app)
    out = []
    for body_, source, _ in store.groups():
        if not visible(body_):
            continue
        group = parse_group(body_)
        enabled = {rule.key for rule in group.rules if not rule.disabled}  # a disabled rule has no alerts
        states = {key: engine.state_from_json(doc) for key, doc in store.load_state(group.name).items()
                  if key in enabled}
        out.append((group, source, states))
    return out


def prometheus_alert(alert: sm.Alert) -> dict:
    out = {"labels": alert.labels, "annotations": alert.annotations, "state": alert.state,
           "activeAt": iso(alert.active_at), "value": go_e(alert.value)}
    if alert.keep_firing_since is not None:
        out["keepFiringSince"] = iso(alert.keep_firing_since)
    return out


def active(state: engine.RuleState) -> list[sm.Alert]:
    return [alert for alert in state.alerts.values() if alert.state in (sm.PENDING, sm.FIRING)]


def prometheus_rule(rule, state: engine.RuleState) -> dict:
    """A rule as Prometheus' /api/v1/rules shows it (plus our extensions when set)."""
    out = {"name": rule.name, "query": rule.expr, "labels": rule.labels, "health": state.health,
           "lastError": state.last_error, "evaluationTime": state.evaluation_seconds,
           "lastEvaluation": iso(state.last_evaluation) if state.last_evaluation is not None else ZERO_TIME}
    if rule.kind == "recording":
        return {**out, "type": "recording"}
    extensions = {key: value for key, value in rule.to_dict().items()
                  if key in ("keep_firing_while", "data_expr", "no_data", "mute_until", "disabled")}
    return {**out, "type": "alerting", "duration": rule.for_ms / 1000, "keepFiringFor": rule.keep_firing_for_ms / 1000,
            "annotations": rule.annotations, "state": sm.rule_state(state.alerts),
            "alerts": [prometheus_alert(alert) for alert in active(state)], **extensions}


@blueprint.get("/v1/rules")
@documented("Rule groups with their rules' health and alerts, in Prometheus' format (type=alert|record)")
def prometheus_rules():
    """Prometheus' GET /api/v1/rules."""
    kind = request.args.get("type")
    if kind not in (None, "", "alert", "record"):
        raise ApiError("type: expected alert or record", 400, field="type")
    groups = []
    for group, source, states in stored_groups():
        rules = [prometheus_rule(rule, states.get(rule.key, engine.RuleState())) for rule in group.rules
                 if not kind or rule.kind == {"alert": "alerting", "record": "recording"}[kind]]
        evaluations = [states[r.key].last_evaluation for r in group.rules if r.key in states]
        groups.append({"name": group.name, "file": source, "interval": group.interval_ms / 1000,
                       "limit": group.limit, "rules": rules,
                       "evaluationTime": sum(states[r.key].evaluation_seconds for r in group.rules if r.key in states),
                       "lastEvaluation": iso(max(e for e in evaluations if e is not None))
                       if any(e is not None for e in evaluations) else ZERO_TIME})
    return json_response({"status": "success", "data": {"groups": groups}})


@blueprint.get("/v1/alerts")
@documented("Every pending and firing alert, in Prometheus' format")
def prometheus_alerts():
    """Prometheus' GET /api/v1/alerts: the union of the rules' alerts."""
    alerts = [prometheus_alert(alert) for _, _, states in stored_groups() for state in states.values()
              for alert in active(state)]
    return json_response({"status": "success", "data": {"alerts": alerts}})


@blueprint.get("/alerts")
@documented("Alerts now: firing first, then pending, with value, since when, rule and group")
def alerts_now():
    """The dashboard's list: firing, then pending, each the longest active first."""
    items = []
    for group, _, states in stored_groups():
        for rule in group.rules:
            state = states.get(rule.key, engine.RuleState())
            for alert in active(state):
                items.append({"group": group.name, "rule": rule.name, "expr": rule.expr, **prometheus_alert(alert),
                              "value": None if alert.value != alert.value else alert.value,
                              "since": iso(alert.fired_at if alert.state == sm.FIRING else alert.active_at),
                              "fingerprint": sm.fingerprint(alert.labels)})
    items.sort(key=lambda item: (item["state"] != sm.FIRING, item["since"]))
    return json_response({"alerts": items, "firing": sum(item["state"] == sm.FIRING for item in items),
                          "pending": sum(item["state"] == sm.PENDING for item in items),
                          "evaluator": alert_store(current_app).holder()})


@blueprint.get("/alerts/rules")
@documented("Rule groups as stored (rule-file format), with their source")
def list_groups():
    return json_response({"groups": [{**body_, "source": source, "updated_at": iso(updated)}
                                     for body_, source, updated in alert_store(current_app).groups()
                                     if visible(body_)]})


@blueprint.post("/alerts/rules")
@documented("Create a rule group (JSON or YAML body, as in a rule file); 409 if the name exists", status="201",
            body="object", answer="object")
def create_group():
    group = owned(group_of(body()))
    store = alert_store(current_app)
    if store.group(group.name) is not None:
        raise Conflict(f"rule group {group.name!r} exists; PUT /api/alerts/rules/{group.name} replaces it")
    store.put_group(group.name, group.to_dict())
    store.record_change(group.name, "created", group.to_dict(), actor())
    return json_response(group.to_dict(), 201)


@blueprint.get("/alerts/rules/<name>")
@documented("One rule group")
def get_group(name: str):
    found = alert_store(current_app).group(name)
    if not visible(found):
        raise NotFound(f"rule group {name!r} not found")
    return json_response(found)


@blueprint.put("/alerts/rules/<name>")
@documented("Create or replace a rule group (its alerts keep their state, rule by rule name)", body="object")
def put_group(name: str):
    existing = changeable(name)
    group = owned(group_of(body(), name), existing and existing.get("owner"))
    store = alert_store(current_app)
    store.put_group(group.name, group.to_dict())
    store.record_change(group.name, "replaced" if existing is not None else "created", group.to_dict(), actor())
    return json_response(group.to_dict(), 200 if existing is not None else 201)


@blueprint.delete("/alerts/rules/<name>")
@documented("Delete a rule group and its state", status="204")
def delete_group(name: str):
    if changeable(name) is None:
        raise NotFound(f"rule group {name!r} not found")
    store = alert_store(current_app)
    store.delete_group(name)
    store.record_change(name, "deleted", None, actor())
    response = current_app.response_class(status=204)
    del response.headers["Content-Type"]
    return response


@blueprint.get("/alerts/changes")
@documented("A group's changes (group=<name>), newest first: when, created|replaced|deleted, by whom, and what it "
            "became; kept after the group is deleted, so this is not a sub-resource of the group")
def group_changes():
    name = request.args.get("group", "")
    if not name:
        raise ApiError("group: required (the rule group's name)", 400, field="group")
    store = alert_store(current_app)
    found = store.group(name)
    if found is not None and not visible(found):
        raise NotFound(f"rule group {name!r} not found")
    # A deleted group's versions are seen by those its versions were visible to, like the group was.
    items = [item for item in store.changes(name, limit_arg(100)) if item["body"] is None or visible(item["body"])]
    return json_response({"changes": [{**item, "at": iso(item["at"])} for item in items]})


def actor() -> str:
    """Who makes the current change, as the history shows it ('token ci', 'user ana')."""
    who = g.get("principal")
    return f"{who.kind} {who.name}" if who is not None else "anonymous"


@blueprint.get("/alerts/history")
@documented("Transitions (time, rule, labels, from, to, value) between start and end, newest first; "
            "group= and rule= narrow it")
def history():
    start, end = time_range()
    store = alert_store(current_app)
    items = store.history(start, end, request.args.get("group"), request.args.get("rule"), limit_arg())
    hidden = {body_["name"] for body_, _, _ in store.groups() if not visible(body_)}
    return json_response({"transitions": [{**item, "at": iso(item["at"])} for item in items
                                          if item["group"] not in hidden]})


@blueprint.get("/alerts/notifications")
@documented("Delivery attempts to Alertmanagers and webhooks between start and end, newest first")
def notifications():
    start, end = time_range()
    items = alert_store(current_app).deliveries(start, end, limit_arg())
    admin = "admin" in auth.principal().scopes  # a receiver's URL can hold a secret (a webhook's key)
    return json_response({"attempts": [{**item, "at": iso(item["at"]), "url": item["url"] if admin else None}
                                       for item in items]})


def backtest_group(spec: dict) -> Group:
    """The group a backtest runs: a saved one by name (optionally one rule of it), a group map, or one rule
    with an interval."""
    target = spec.get("group")
    if isinstance(target, str):
        found = alert_store(current_app).group(target)
        if not visible(found):
            raise NotFound(f"rule group {target!r} not found")
        group = parse_group(found)
        if isinstance(spec.get("rule"), str):
            rules = tuple(rule for rule in group.rules if rule.name == spec["rule"])
            if not rules:
                raise NotFound(f"rule {spec['rule']!r} not found in group {target!r}")
            group = replace(group, rules=rules)
        return group
    if isinstance(target, dict):
        return owned(group_of(target))
    if isinstance(spec.get("rule"), dict):
        try:
            rule = parse_rule(spec["rule"], "backtest", 0, check_expr)
        except RuleError as error:
            raise ApiError(str(error), 400, rule=error.rule, field=error.field) from None
        return owned(group_of({"name": "backtest", "interval": spec.get("interval", "1m"),
                               "rules": [rule.to_dict()]}))
    raise ApiError("group: expected a saved group's name, a group, or a rule (with interval)", 400, field="group")


@blueprint.post("/alerts/backtest")
@documented("The transitions a rule (saved or not) would have produced over a past range: body {group | "
            "rule, interval, start, end}", body="object")
def run_backtest():
    spec = body()
    if not isinstance(spec, dict):
        raise ApiError("expected a JSON object with group or rule, start and end", 400)
    group = backtest_group(spec)
    now = int(time.time() * 1000)
    try:
        end = parse_instant(spec.get("end", "now"), now)
        start = parse_instant(spec.get("start", "-6h"), now)
    except ValueError as error:
        raise ApiError(f"start/end: {error}", 400) from None
    if start > end:
        raise ApiError("start: must not be after end", 400, field="start")
    try:
        engine.backtest_steps(group, start, end)
    except ValueError as error:
        raise ApiError(f"start/end: {error}", 400) from None
    try:
        with deadline(QueryLimits.of(current_app.config["METRICS_SERVER"]).timeout):
            transitions = engine.backtest(group, backtest_query(current_app, group, start, end), start, end)
    except promql.PromQLError as error:
        raise ApiError(f"expr: {error}", error.status) from None
    return json_response({
        "group": group.to_dict(), "start": iso(start), "end": iso(end),
        "transitions": [{"at": iso(t.at), "rule": rule.name, "labels": t.labels, "fingerprint": t.fingerprint,
                         "from": t.from_state, "to": t.to_state, "value": None if t.value != t.value else t.value}
                        for rule, t in transitions],
        "bands": [{**band, "start": iso(band["start"]), "end": iso(band["end"])}
                  for band in sm.bands([t for _, t in transitions], end)]})
