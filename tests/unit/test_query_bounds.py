"""Issue 21: a PromQL text is bounded before the parser sees it, and label regexes run in RE2 (linear time)."""
import time

import pytest

from metrics_server.goregex import MAX_PATTERN_BYTES, compile_go
from metrics_server.promql import parse
from metrics_server.promql.errors import ParseError
from metrics_server.promql.parse import MAX_QUERY_BYTES, MAX_QUERY_DEPTH, check_bounds
from metrics_server.storage.series_index import Matcher


@pytest.mark.parametrize("text, why", [
    ("+".join(["a"] * 5556), "operators and brackets"),
    ("(" * 30_000 + "a" + ")" * 30_000, "bytes long"),
    ("abs(" * (MAX_QUERY_DEPTH + 1) + "a" + ")" * (MAX_QUERY_DEPTH + 1), "operators and brackets"),
    ("-" * (MAX_QUERY_DEPTH + 1) + "1", "operators and brackets"),
    (" or ".join(["a"] * (MAX_QUERY_DEPTH + 2)), "operators and brackets"),
    ("a" * (MAX_QUERY_BYTES + 1), "bytes long"),
])
def test_texts_past_the_bounds_are_refused_naming_the_bound(text, why):
    with pytest.raises(ParseError, match=why):
        parse(text)


def test_strings_and_matchers_do_not_count_as_nesting():
    matchers = ",".join(f'l{i}!~"((x|y)+-(z*))"' for i in range(MAX_QUERY_DEPTH))
    check_bounds(f'sum(rate(m{{{matchers}}}[5m]))')
    check_bounds('label_replace(m, "dst", "$1-(" , "src", "(((((((((.*)")' * 1)


def test_the_deepest_allowed_expression_still_parses_and_translates():
    parse("+".join(["a"] * MAX_QUERY_DEPTH))
    parse("(" * (MAX_QUERY_DEPTH // 2) + "a" + ")" * (MAX_QUERY_DEPTH // 2))


def test_a_catastrophic_pattern_matches_in_linear_time():
    regex = compile_go("(a+)+b")
    started = time.perf_counter()
    assert regex.fullmatch("a" * 100_000) is None
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("pattern, value, matches", [
    ("foo|bar", "bar", True),
    ("foo|bar", "xbar", False),  # anchored at both ends, as Prometheus anchors matchers
    ("a.", "a\n", False),  # `.` stops at a newline in Prometheus 2.x (Go's default)
    ("(?i:AB)c", "abc", True),  # Go's flags inside a group
    (r"\pL+", "héllo", True),
])
def test_patterns_follow_go_syntax_and_anchoring(pattern, value, matches):
    assert (compile_go(pattern).fullmatch(value) is not None) is matches


@pytest.mark.parametrize("pattern, why", [(r"(a)\1", "invalid regular expression"), ("(?=a)", "invalid"),
                                          ("a" * (MAX_PATTERN_BYTES + 1), "bytes")])
def test_what_re2_cannot_do_in_linear_time_is_refused(pattern, why):
    with pytest.raises(ValueError, match=why):
        compile_go(pattern)
    with pytest.raises(ParseError, match="regex|regular expression"):  # promql-parser refuses some itself
        parse(f'm{{l=~"{pattern}"}}'.replace("\\", "\\\\"))


def test_both_matcher_kinds_use_the_same_regex_rules():
    assert Matcher("host", "=~", "(a+)+b").matches({"host": "a" * 50}) is False
    with pytest.raises(ValueError, match="host: invalid regular expression"):
        Matcher("host", "=~", r"(a)\1")
