"""Rule groups in Prometheus' format (YAML or the same as JSON), validated with errors that name the group,
the rule and the field.

A Prometheus rule file loads unchanged: `groups` of `name`, `interval` (default 1m), `query_offset`, `limit`
and `rules`; alerting rules (`alert`, `expr`, `for`, `keep_firing_for`, `labels`, `annotations`) and recording
rules (`record`, `expr`, `labels`). Our extensions are extra rule keys, ignored by nobody and needed by none:
  keep_firing_while  a PromQL condition that keeps a firing alert firing (hysteresis: fire above 10, recover
                     below 8 is `expr: x > 10` + `keep_firing_while: x > 8`; prometheus#6504 asks for this)
  data_expr, no_data what "no data" means (the series of `data_expr` missing) and what to do then: ok (as
                     Prometheus: the alert resolves), alerting, nodata (a separate alert with `nodata="true"`),
                     keep_last (Grafana's four choices; prometheus#17482)
  mute_until         no notifications before this time (RFC 3339 or epoch seconds); state and history go on
  disabled           true: the rule is kept but not evaluated (its alerts end and its series go stale)
and group keys that the API sets from the token that saves the group (metrics_server/auth):
  owner              who first saved it ('token:<id>', 'session:<user>'), kept on record
  metric_prefixes    the metric name prefixes its rules may read and write (their owner's): other metrics do not
                     exist for its queries, and a recording rule's name must start with one of them
"""
import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from metrics_server.alerting import templates
from metrics_server.alerting.durations import format_duration, parse_duration_ms

LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
GROUP_KEYS = {"name", "interval", "query_offset", "limit", "rules", "owner", "metric_prefixes"}
RULE_KEYS = {"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations",
             "keep_firing_while", "data_expr", "no_data", "mute_until", "disabled"}
NO_DATA_POLICIES = ("ok", "alerting", "nodata", "keep_last")
DEFAULT_INTERVAL_MS = 60_000


class RuleError(ValueError):
    """A rule file or API body that cannot be used; says where (group, rule, field) and why."""

    def __init__(self, message: str, group: str | None = None, rule: str | None = None, field: str | None = None):
        where = []
        if group is not None:
            where.append(f"group {group!r}")
        if rule is not None:
            where.append(f"rule {rule!r}")
        prefix = ", ".join(where)
        text = f"{field}: {message}" if field else message
        super().__init__(f"{prefix}: {text}" if prefix else text)
        self.group, self.rule, self.field = group, rule, field


@dataclass(frozen=True)
class Rule:
    """One alerting (or recording) rule; durations and times in milliseconds."""

    name: str
    expr: str
    kind: str = "alerting"  # or "recording"
    for_ms: int = 0
    keep_firing_for_ms: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    keep_firing_while: str | None = None
    data_expr: str | None = None
    no_data: str = "ok"
    mute_until_ms: int | None = None
    disabled: bool = False
    key: str = ""  # the name, made unique in its group ("Name", "Name#2"): what state is kept under

    def to_dict(self) -> dict[str, Any]:
        """The rule as it would be written in a rule file (durations as text, defaults left out)."""
        out: dict[str, Any] = {("alert" if self.kind == "alerting" else "record"): self.name, "expr": self.expr}
        if self.for_ms:
            out["for"] = format_duration(self.for_ms)
        if self.keep_firing_for_ms:
            out["keep_firing_for"] = format_duration(self.keep_firing_for_ms)
        if self.labels:
            out["labels"] = dict(self.labels)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.keep_firing_while:
            out["keep_firing_while"] = self.keep_firing_while
        if self.data_expr:
            out["data_expr"] = self.data_expr
        if self.no_data != "ok":
            out["no_data"] = self.no_data
        if self.mute_until_ms is not None:
            out["mute_until"] = iso(self.mute_until_ms)
        if self.disabled:
            out["disabled"] = True
        return out


@dataclass(frozen=True)
class Group:
    """A rule group: its rules run in order, every `interval_ms`, at `evaluation time - query_offset_ms`."""

    name: str
    rules: tuple[Rule, ...]
    interval_ms: int = DEFAULT_INTERVAL_MS
    query_offset_ms: int = 0
    limit: int = 0
    owner: str = ""
    metric_prefixes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "interval": format_duration(self.interval_ms)}
        if self.query_offset_ms:
            out["query_offset"] = format_duration(self.query_offset_ms)
        if self.limit:
            out["limit"] = self.limit
        if self.owner:
            out["owner"] = self.owner
        if self.metric_prefixes:
            out["metric_prefixes"] = list(self.metric_prefixes)
        out["rules"] = [rule.to_dict() for rule in self.rules]
        return out


def iso(ms: int) -> str:
    """Epoch milliseconds as RFC 3339 with milliseconds, UTC ('2024-02-02T11:43:02.000Z')."""
    moment = datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_time_ms(value: Any) -> int:
    """RFC 3339 text or epoch seconds → epoch milliseconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value * 1000)
    if isinstance(value, datetime.datetime):  # YAML reads unquoted timestamps itself
        moment = value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
        return int(moment.timestamp() * 1000)
    try:
        moment = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"expected an RFC 3339 time or epoch seconds, got {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return int(moment.timestamp() * 1000)


def load_text(text: str) -> Any:
    """YAML (or JSON, which is YAML) text → Python data; a syntax error names the line."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise RuleError(f"not valid YAML: {' '.join(str(error).split())}") from None


def _duration(value: Any, group: str, rule: str | None, key: str) -> int:
    try:
        return parse_duration_ms(str(value))
    except ValueError as error:
        raise RuleError(str(error), group, rule, key) from None


def _string_map(value: Any, group: str, rule: str | None, key: str, check_names: bool = True) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RuleError("expected a map of names to strings", group, rule, key)
    out = {}
    for name, text in value.items():
        if check_names and not LABEL_NAME.match(str(name)):
            raise RuleError(f"invalid name {name!r}", group, rule, f"{key}.{name}")
        if isinstance(text, (dict, list)) or text is None:
            raise RuleError("expected a string", group, rule, f"{key}.{name}")
        text = str(text).lower() if isinstance(text, bool) else str(text)
        try:
            templates.check(text)
        except templates.TemplateError as error:
            raise RuleError(f"template does not parse: {error}", group, rule, f"{key}.{name}") from None
        out[str(name)] = text
    return out


def parse_rule(raw: Any, group: str, position: int, check_expr: Callable[[str], None] | None) -> Rule:
    """One rule of `group`; `check_expr` (the PromQL parser) raises ValueError for a bad expression."""
    if not isinstance(raw, dict):
        raise RuleError("expected a map with alert (or record) and expr", group, f"#{position + 1}")
    name = raw.get("alert", raw.get("record"))
    label = str(name) if name not in (None, "") else f"#{position + 1}"
    unknown = sorted(set(map(str, raw)) - RULE_KEYS)
    if unknown:
        raise RuleError(f"unknown field (expected one of {', '.join(sorted(RULE_KEYS))})", group, label, unknown[0])
    if ("alert" in raw) == ("record" in raw):
        raise RuleError("exactly one of alert and record is required", group, label, "alert")
    kind = "alerting" if "alert" in raw else "recording"
    if not isinstance(name, str) or not name.strip():
        raise RuleError("must be a non-empty string", group, label, "alert" if kind == "alerting" else "record")
    if kind == "recording":
        if not METRIC_NAME.match(name):
            raise RuleError(f"invalid metric name {name!r}", group, label, "record")
        extra = sorted(set(raw) & {"for", "keep_firing_for", "annotations", "keep_firing_while", "data_expr",
                                   "no_data", "mute_until"})
        if extra:
            raise RuleError("only allowed for alerting rules", group, label, extra[0])
    expressions = {}
    for key in ("expr", "keep_firing_while", "data_expr"):
        value = raw.get(key)
        if value is None and key != "expr":
            continue
        if not isinstance(value, (str, int, float)) or isinstance(value, bool) or not str(value).strip():
            raise RuleError("must be a non-empty PromQL expression", group, label, key)
        if check_expr is not None:
            try:
                check_expr(str(value))
            except ValueError as error:
                raise RuleError(f"invalid PromQL: {error}", group, label, key) from None
        expressions[key] = str(value)
    no_data = raw.get("no_data", "ok")
    if no_data not in NO_DATA_POLICIES:
        raise RuleError(f"expected one of {', '.join(NO_DATA_POLICIES)}", group, label, "no_data")
    if no_data != "ok" and "data_expr" not in expressions:
        raise RuleError(f"required when no_data is {no_data} (the series whose absence means no data)",
                        group, label, "data_expr")
    mute_until = None
    if raw.get("mute_until") not in (None, ""):
        try:
            mute_until = parse_time_ms(raw["mute_until"])
        except ValueError as error:
            raise RuleError(str(error), group, label, "mute_until") from None
    if not isinstance(raw.get("disabled", False), bool):
        raise RuleError("expected true or false", group, label, "disabled")
    labels = _string_map(raw.get("labels"), group, label, "labels")
    if "__name__" in labels:
        raise RuleError("__name__ cannot be set by a rule", group, label, "labels.__name__")
    return Rule(
        name=name, expr=expressions["expr"], kind=kind,
        for_ms=_duration(raw["for"], group, label, "for") if "for" in raw else 0,
        keep_firing_for_ms=_duration(raw["keep_firing_for"], group, label, "keep_firing_for")
        if "keep_firing_for" in raw else 0,
        labels=labels, annotations=_string_map(raw.get("annotations"), group, label, "annotations"),
        keep_firing_while=expressions.get("keep_firing_while"), data_expr=expressions.get("data_expr"),
        no_data=no_data, mute_until_ms=mute_until, disabled=raw.get("disabled", False),
    )


def parse_group(raw: Any, position: int = 0, check_expr: Callable[[str], None] | None = None) -> Group:
    """One group (a map with name, interval, rules)."""
    if not isinstance(raw, dict):
        raise RuleError(f"groups[{position}]: expected a map with name and rules")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise RuleError(f"groups[{position}]: name: must be a non-empty string")
    unknown = sorted(set(map(str, raw)) - GROUP_KEYS)
    if unknown:
        raise RuleError(f"unknown field (expected one of {', '.join(sorted(GROUP_KEYS))})", name, None, unknown[0])
    interval = _duration(raw["interval"], name, None, "interval") if raw.get("interval") is not None \
        else DEFAULT_INTERVAL_MS
    if interval <= 0:
        raise RuleError("must be greater than 0", name, None, "interval")
    offset = _duration(raw["query_offset"], name, None, "query_offset") if raw.get("query_offset") else 0
    limit = raw.get("limit", 0)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise RuleError("must be a non-negative integer", name, None, "limit")
    owner = raw.get("owner") or ""
    if not isinstance(owner, str):
        raise RuleError("must be a string", name, None, "owner")
    prefixes = raw.get("metric_prefixes") or []
    if not isinstance(prefixes, list) or not all(isinstance(p, str) and METRIC_NAME.match(p) for p in prefixes):
        raise RuleError("expected a list of metric name prefixes", name, None, "metric_prefixes")
    items = raw.get("rules") or []
    if not isinstance(items, list):
        raise RuleError("expected a list of rules", name, None, "rules")
    rules, seen = [], {}
    for index, item in enumerate(items):
        rule = parse_rule(item, name, index, check_expr)
        if rule.kind == "recording" and prefixes and not rule.name.startswith(tuple(prefixes)):
            raise RuleError(f"the group may only write metrics starting with {', '.join(prefixes)}", name,
                            rule.name, "record")
        seen[rule.name] = seen.get(rule.name, 0) + 1
        key = rule.name if seen[rule.name] == 1 else f"{rule.name}#{seen[rule.name]}"
        rules.append(Rule(**{**rule.__dict__, "key": key}))
    return Group(name=name, rules=tuple(rules), interval_ms=interval, query_offset_ms=offset, limit=limit,
                 owner=owner, metric_prefixes=tuple(sorted(set(prefixes))))


def parse_groups(document: Any, check_expr: Callable[[str], None] | None = None) -> list[Group]:
    """A whole rule file (`groups: [...]`), as text or already loaded; group names must be unique."""
    if isinstance(document, str):
        document = load_text(document)
    if not isinstance(document, dict) or not isinstance(document.get("groups", []), list):
        raise RuleError("groups: expected a map with a list of groups under 'groups'")
    unknown = sorted(set(map(str, document)) - {"groups"})
    if unknown:
        raise RuleError(f"{unknown[0]}: unknown field (a rule file has only 'groups')")
    groups, names = [], set()
    for position, raw in enumerate(document.get("groups") or []):
        group = parse_group(raw, position, check_expr)
        if group.name in names:
            raise RuleError("repeated in the same file", group.name, None, "name")
        names.add(group.name)
        groups.append(group)
    return groups
