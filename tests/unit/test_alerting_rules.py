"""Rule files in Prometheus' format: what loads, what is refused (naming group, rule and field), templates."""
import pytest

from metrics_server.alerting import gofmt, templates
from metrics_server.alerting.rules import RuleError, parse_groups

PROMETHEUS_EXAMPLE = """
groups:
- name: example
  rules:
  - alert: HighRequestLatency
    expr: job:request_latency_seconds:mean5m{job="myjob"} > 0.5
    for: 10m
    keep_firing_for: 5m
    labels:
      severity: page
    annotations:
      summary: High request latency on {{ $labels.instance }}
  - alert: VeryHighRequestLatency
    expr: job:request_latency_seconds:mean5m{job="myjob"} > 1
  - record: job:up:sum
    expr: sum by (job) (up)
"""


def test_the_prometheus_documentation_example_loads_unchanged():
    (group,) = parse_groups(PROMETHEUS_EXAMPLE)
    assert group.name == "example" and group.interval_ms == 60_000
    first, second, record = group.rules
    assert (first.for_ms, first.keep_firing_for_ms, first.labels) == (600_000, 300_000, {"severity": "page"})
    assert second.for_ms == 0 and record.kind == "recording"
    assert parse_groups({"groups": [group.to_dict()]})[0] == group


def test_extensions_load_and_round_trip():
    text = """groups:
- name: traffic
  interval: 10s
  query_offset: 5s
  rules:
  - alert: HighTraffic
    expr: avg_over_time(http_requests[2m]) > 10
    keep_firing_while: avg_over_time(http_requests[2m]) > 8
    data_expr: avg_over_time(http_requests[2m])
    no_data: nodata
    mute_until: 2030-01-01T00:00:00Z
"""
    (group,) = parse_groups(text)
    rule = group.rules[0]
    assert (group.interval_ms, group.query_offset_ms, rule.no_data) == (10_000, 5_000, "nodata")
    assert rule.mute_until_ms == 1_893_456_000_000
    assert parse_groups({"groups": [group.to_dict()]})[0] == group


def rule_file(rule: str, group: str = "name: api\n  interval: 30s") -> str:
    return f"groups:\n- {group}\n  rules:\n  - {rule}\n"


@pytest.mark.parametrize("text, message", [
    (rule_file("alert: A\n    expr: up == 0\n    for: 5x"),
     "group 'api', rule 'A': for: not a valid duration string: '5x'"),
    (rule_file("alert: A\n    expr: ''"), "group 'api', rule 'A': expr: must be a non-empty PromQL expression"),
    (rule_file("alert: A\n    expr: up\n    labels:\n      bad-name: x"), "group 'api', rule 'A': labels.bad-name"),
    (rule_file("alert: A\n    expr: up\n    annotations:\n      s: '{{ $labels.x '"),
     "group 'api', rule 'A': annotations.s: template does not parse"),
    (rule_file("alert: A\n    expr: up\n    severity: page"), "group 'api', rule 'A': severity: unknown field"),
    (rule_file("alert: A\n    expr: up\n    no_data: nodata"), "group 'api', rule 'A': data_expr: required"),
    (rule_file("alert: A\n    expr: up\n    no_data: maybe"), "group 'api', rule 'A': no_data: expected one of"),
    (rule_file("record: job:up\n    expr: up\n    for: 1m"), "group 'api', rule 'job:up': for: only allowed"),
    (rule_file("expr: up"), "group 'api', rule '#1': alert: exactly one of alert and record"),
    (rule_file("alert: A\n    expr: up", "name: api\n  interval: 0s"), "group 'api': interval: must be greater"),
    (rule_file("alert: A\n    expr: up", "interval: 1m"), "groups[0]: name: must be a non-empty string"),
    ("groups:\n- name: a\n  rules: []\n- name: a\n  rules: []\n", "group 'a': name: repeated in the same file"),
    ("groups: [", "not valid YAML"),
])
def test_bad_rules_are_refused_naming_group_rule_and_field(text, message):
    with pytest.raises(RuleError) as caught:
        parse_groups(text)
    assert message in str(caught.value)


def test_the_promql_parser_checks_every_expression():
    def check(expr):
        if "((" in expr:
            raise ValueError("unclosed parenthesis")
    with pytest.raises(RuleError, match="rule 'A': keep_firing_while: invalid PromQL: unclosed parenthesis"):
        parse_groups(rule_file("alert: A\n    expr: up\n    keep_firing_while: sum((up)"), check)


def expand(text: str, labels=None, value=0.0, **kwargs) -> str:
    return templates.expand(text, templates.Context(labels=labels or {}, value=value, **kwargs))


@pytest.mark.parametrize("text, expected", [
    ("{{ $labels.instance }} is down", "web-1 is down"),
    ("{{ .Labels.instance }} {{ $labels.missing }}", "web-1 <no value>"),
    ("{{ $value }}", "1.234567e+06"),
    ("{{ .Value | humanize }}", "1.235M"),
    ("{{ humanize 0.00123 }}", "1.23m"),
    ("{{ humanize1024 1048576 }}", "1Mi"),
    ("{{ humanizeDuration 3725 }}", "1h 2m 5s"),
    ("{{ humanizeDuration 0.25 }}", "250ms"),
    ("{{ humanizePercentage 0.1234 }}", "12.34%"),
    ("{{ humanizeTimestamp 1706874182 }}", "2024-02-02 11:43:02 +0000 UTC"),
    ('{{ printf "%.2f" $value }}', "1234567.00"),
    ("{{ if gt $value 100.0 }}big{{ else }}small{{ end }}", "big"),
    ("{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}", "instance=web-1;job=api;"),
    ("{{ $labels.job | toUpper }} {{ title \"hello world\" }}", "API Hello World"),
    ('{{ reReplaceAll "web-(.*)" "host $1" $labels.instance }}', "host 1"),
    ("a {{- \"b\" -}} c", "abc"),
    ("{{/* comment */}}x{{ graphLink \"up\" }}{{ tableLink \"up\" }}", "x"),
    ("{{ $x := 3 }}{{ $x }}", "3"),
])
def test_templates_render_as_prometheus_does(text, expected):
    assert expand(text, {"instance": "web-1", "job": "api"}, 1234567.0) == expected


def test_query_in_a_template_uses_the_evaluation_time():
    calls = []

    def query(expr, at):
        calls.append((expr, at))
        return [({"instance": "a"}, 0.5)]
    text = '{{ with query "up" }}{{ . | first | value | humanizePercentage }}{{ end }}'
    assert expand(text, time_ms=42, query=query) == "50%"
    assert calls == [("up", 42)]


@pytest.mark.parametrize("value, go", [(11.0, "11"), (0.1, "0.1"), (1e6, "1e+06"), (123456.0, "123456"),
                                       (0.0001, "0.0001"), (0.00001, "1e-05"), (1e21, "1e+21"), (-2.5, "-2.5")])
def test_values_print_as_go_prints_float64(value, go):
    assert gofmt.go_float(value) == go


def test_api_values_use_go_exponent_format():
    assert [gofmt.go_e(v) for v in (11.0, 1.0, 0.25)] == ["1.1e+01", "1e+00", "2.5e-01"]
