"""Alert templates as Prometheus runs them (Go's text/template and its functions), and their bounds."""
import time

import pytest

from metrics_server.alerting import engine, templates
from metrics_server.alerting.rules import Group, Rule, RuleError, parse_groups
from metrics_server.limits import QueryTimeout, deadline

SUITE_QUERY_TEMPLATE = (
    '{{ define "testtemplate" }}Args are: {{.arg0}} {{.arg1}} {{.arg2}}. {{ with query "alert_generator_test_suite'
    '{rulegroup=\'ZeroFor_SmallFor\',for=\'template\'}" }}first_id:{{ . | sortByLabel "id" | first | label "id"}},'
    '{{ range $v := sortByLabel "id" .}}{{ . | label "id" }}:{{ . | value }},{{end}}{{end}}{{ end }}'
    '{{ template "testtemplate" (args "foo" "bar" 99) }}')
SUITE_FUNCTIONS_TEMPLATE = (
    '{{title "this part"}} {{toUpper "is testing"}} {{toLower "THE STRINGS"}}. {{ stripPort "[::1]:6006"}} '
    '{{ stripPort "127.0.0.1:4004"}}. {{parseDuration "2h10m15s"}}. {{if match "[0-9]+" "1234"}}'
    '{{reReplaceAll "r.*d" "replaced" "rpld text"}}{{end}}. {{if match "[0-9]+$" "1234a"}}WRONG{{end}}.')


def expand(text: str, labels=None, value=0.0, **kwargs) -> str:
    return templates.expand(text, templates.Context(labels=labels or {}, value=value, **kwargs))


def test_the_compliance_suites_query_template_defines_and_calls_a_template():
    def query(expr, at):
        assert expr == "alert_generator_test_suite{rulegroup='ZeroFor_SmallFor',for='template'}"
        return [({"id": "103"}, 3.0), ({"id": "101"}, 1.0), ({"id": "102"}, 2.0)]
    templates.check(SUITE_QUERY_TEMPLATE)
    assert expand(SUITE_QUERY_TEMPLATE, query=query) == "Args are: foo bar 99. first_id:101,101:1,102:2,103:3,"


def test_the_compliance_suites_string_functions():
    assert expand(SUITE_FUNCTIONS_TEMPLATE) == "This Part IS TESTING the strings. ::1 127.0.0.1. 7815. replaced text. ."


@pytest.mark.parametrize("text, expected", [
    ('{{ block "b" . }}[{{ .Labels.job }}]{{ end }}', "[api]"),
    ('{{ define "x" }}{{ $ }}{{ end }}{{ template "x" 5 }}', "5"),
    ('{{ define "x" }}<{{ . }}>{{ end }}{{ tmpl "x" "a" | toUpper }}', "<A>"),
    ("{{ range $i, $e := args 1 2 3 4 }}{{ if eq $i \"arg2\" }}{{ break }}{{ end }}{{ $e }}{{ end }}", "12"),
    ("{{ range $k, $v := $labels }}{{ if eq $k \"instance\" }}{{ continue }}{{ end }}{{ $v }}{{ end }}", "api"),
    ("{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }}", "21"),
    ("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", "2"),
    ("{{ with $j := $labels.job }}{{ $j }}{{ end }}", "api"),
    ("{{ with $labels.none }}a{{ else with $labels.job }}{{ . }}{{ else }}c{{ end }}", "api"),
    ("{{ if false }}a{{ else if eq 1 2 }}b{{ else }}c{{ end }}", "c"),
    ("{{ range .Labels.none }}x{{ else }}empty{{ end }}", "empty"),
    ("a  {{- /* trimmed */ -}}  b", "ab"),
    ('{{ externalURL }} {{ pathPrefix }} {{ safeHtml "<b>" }}', "http://h:9/prom /prom <b>"),
    ('{{ reReplaceAll "(a)(b)" "${2}$1" "abab" }}', "baba"),
    ('{{ printf "%5.1f|%-4s|%q" 3.14159 "x" "y" }}', '  3.1|x   |"y"'),
])
def test_go_template_semantics(text, expected):
    assert expand(text, {"instance": "web-1", "job": "api"}, 1.0, external_url="http://h:9/prom") == expected


@pytest.mark.parametrize("text, error", [
    ('{{ template "missing" }}', 'no such template "missing"'),
    ("{{ if true }}{{ define \"x\" }}{{ end }}{{ end }}", "must be at the top level"),
    ("{{ break }}", "outside {{range}}"),
    ("{{ else }}", "unexpected {{else}}"),
    ("{{ if true }}", "missing {{end}}"),
    ("x" * (templates.MAX_SOURCE + 1), "longer than"),
])
def test_bad_templates_are_refused_at_load_time(text, error):
    with pytest.raises(templates.TemplateError, match=error):
        templates.check(text)


def rule_file_with(annotation: str) -> str:
    return ("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    annotations:\n"
            f"      summary: '{annotation}'\n")


def test_a_rule_file_with_the_suites_template_loads_and_a_broken_one_names_the_field():
    parse_groups(rule_file_with(SUITE_QUERY_TEMPLATE.replace("'", "''")))
    with pytest.raises(RuleError, match=r"annotations.summary.*no such template"):
        parse_groups(rule_file_with('{{ template "nope" }}'))


@pytest.mark.parametrize("text, bound", [
    ('{{ printf "%01000000000d" 1 }}', "width or precision"),
    ('{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}', "nested template calls"),
    ('{{ define "w" }}{{ range args 1 2 3 4 5 6 7 8 9 10 }}{{ template "v" }}{{ end }}{{ end }}'
     '{{ define "v" }}{{ range args 1 2 3 4 5 6 7 8 9 10 }}{{ template "u" }}{{ end }}{{ end }}'
     '{{ define "u" }}{{ range args 1 2 3 4 5 6 7 8 9 10 }}{{ template "t" }}{{ end }}{{ end }}'
     '{{ define "t" }}{{ range args 1 2 3 4 5 6 7 8 9 10 }}xxxxxxxxxx{{ end }}{{ end }}{{ template "w" }}',
     "characters of output|actions"),
    ('{{ range args 1 2 3 4 5 6 7 8 9 10 11 12 }}{{ query "up" }}{{ end }}', "queries"),
    ('{{ reReplaceAll "" "' + "y" * 1000 + '" "' + "x" * 1000 + '" }}', "longer than"),
])
def test_expensive_templates_stop_with_a_visible_error(text, bound):
    started = time.perf_counter()
    with pytest.raises(templates.TemplateError, match=bound):
        expand(text, query=lambda expr, at: [])
    assert time.perf_counter() - started < 1.0


def test_a_template_past_its_time_stops():
    ticks = iter(range(1000))
    budget = templates.Budget(clock=lambda: next(ticks))  # every check a second later
    with pytest.raises(templates.TemplateError, match="ran longer than"):
        templates.expand("{{ range args 1 2 3 4 5 }}x{{ end }}", templates.Context({}, 0.0), budget)


def test_regexes_run_in_linear_time():
    started = time.perf_counter()
    assert expand('{{ if match "(a+)+b" "' + "a" * 5000 + '" }}yes{{ else }}no{{ end }}') == "no"
    assert time.perf_counter() - started < 0.5
    with pytest.raises(templates.TemplateError, match="error calling match"):
        expand('{{ match "(?=x)" "x" }}')  # lookahead: not RE2, refused as Go refuses it


def test_a_backtest_stops_at_the_query_deadline():
    """Issue 21: 10,000 steps had no deadline; the API runs the replay under query_timeout."""
    group = Group("g", (Rule(name="A", expr="x", key="A", annotations={"s": "{{ $value }}"}),), interval_ms=1000)

    def slow(expr, at):
        time.sleep(0.01)
        return [({}, 1.0)]
    started = time.perf_counter()
    with deadline(0.3), pytest.raises(QueryTimeout):
        engine.backtest(group, slow, 0, 1_000_000)  # 1,000 steps: 10 s without the deadline
    assert time.perf_counter() - started < 3.0  # a loaded 2-core machine's noise above 0.3 s
