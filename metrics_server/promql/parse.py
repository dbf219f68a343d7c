"""PromQL text → the tree of nodes.py, holding only what this engine evaluates.

The grammar is promql-parser's (the Rust parser of GreptimeDB, compatible with Prometheus 2.45): we never
parse PromQL ourselves. Translating its AST into our own nodes is where everything unsupported is refused,
before any data is read, with a message naming the function, aggregation or feature. Times are ms; an `@`
is a time, or "start"/"end" (the query's).
"""
import re
from datetime import timedelta

import promql_parser as pp

from metrics_server.promql.aggregations import AGGREGATIONS, SELECTIONS
from metrics_server.promql.errors import ParseError, Unsupported
from metrics_server.promql.functions import FUNCTIONS
from metrics_server.promql.nodes import (
    ARITHMETIC,
    COMPARISONS,
    SET_OPERATORS,
    Aggregate,
    Binary,
    Call,
    Matcher,
    Negate,
    Number,
    RangeSelector,
    Selector,
    String,
    Subquery,
)

# Names the parser does not know, each in functions.py's table like every other function: holt_winters, Prometheus
# 2.x's name of what promql-parser knows by Prometheus 3's (double_exponential_smoothing), and ours, not Prometheus'
# (as MetricsQL adds its own): anomaly_score(v[range]) (query/anomaly.py).
pp.register_extra_functions([
    pp.Function("holt_winters", [pp.ValueType.Matrix, pp.ValueType.Scalar, pp.ValueType.Scalar], pp.ValueType.Vector),
    pp.Function("anomaly_score", [pp.ValueType.Matrix], pp.ValueType.Vector)])

AT_LIMIT_MS = 253_402_300_799_999  # the @ times we accept: 1970 up to the end of year 9999
MAX_DURATION_MS = 10_000 * 365 * 86_400_000
MATCH_OPS = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}  # by str():
# the parser's enum members are not hashable


# Bounds checked on the text before the parser sees it (issue 21): promql-parser recurses natively over the tree,
# and a 100 KB chain of 5,556 `+` terms, or 30,000 nested parentheses, killed the whole process (a segfault no
# Python handler can catch); our translation and evaluation recurse once per level too. VictoriaMetrics refuses
# queries over 16 KiB (-search.maxQueryLen); no real dashboard or rule query nests anywhere near 200 levels.
MAX_QUERY_BYTES = 16 * 1024
MAX_QUERY_DEPTH = 200
_NESTING = re.compile(r"""
    "(?:[^"\\]|\\.)*" | '(?:[^'\\]|\\.)*' | `[^`]*`    # string literals: nothing inside counts
  | \{[^}]*\}                                            # a selector's matchers: no nesting inside
  | (?P<level>[(\[] | [-+*/%^] | [=!<>]=? | \b(?:and|or|unless|atan2)\b)
""", re.VERBOSE)


def check_bounds(text: str) -> None:
    """ParseError unless the query is at most MAX_QUERY_BYTES long and at most MAX_QUERY_DEPTH levels deep.

    The depth is counted on the text, before any parsing: every opening bracket and every operator may add a
    level to the tree, so their count bounds its depth from above (linear time; strings and matchers skipped)."""
    size = len(text.encode())
    if size > MAX_QUERY_BYTES:
        raise ParseError(f"query: {size} bytes long (at most {MAX_QUERY_BYTES})")
    levels = sum(1 for match in _NESTING.finditer(text) if match.group("level"))
    if levels > MAX_QUERY_DEPTH:
        raise ParseError(f"query: {levels} operators and brackets (at most {MAX_QUERY_DEPTH}, which bounds how "
                         f"deeply an expression nests); split it into recording rules")


def parse(text: str):
    """The node tree of a PromQL expression; ParseError for bad syntax, Unsupported for what we do not do."""
    if not text or not text.strip():
        raise ParseError("empty query")
    check_bounds(text)
    try:
        tree = pp.parse(text)
    except (ValueError, OverflowError) as error:
        raise ParseError(f"parse error: {error}") from None
    return _node(tree)


def _ms(node, attribute: str) -> int:
    """A node's duration (offset, range, subquery step) in ms; ParseError beyond 10,000 years, so that no time
    computed from it leaves int64 or the years a query may ask about."""
    try:
        delta = getattr(node, attribute)  # the parser raises ValueError for one beyond its own integers
        ms = 0 if delta is None else int(delta / timedelta(milliseconds=1))
    except (ValueError, OverflowError):
        ms = MAX_DURATION_MS + 1
    if abs(ms) > MAX_DURATION_MS:
        raise ParseError(f"the {attribute} of {node} is out of range: durations span at most 10,000 years")
    return ms


def _at(modifier) -> int | str | None:
    """An @ modifier as ms since the epoch, or "start"/"end"."""
    if modifier is None:
        return None
    kind = str(modifier.type)
    if kind.endswith("Start") or kind.endswith("End"):
        return kind.rsplit(".", 1)[-1].lower()
    try:
        at = modifier.at  # the parser panics (a BaseException) on a time before 1970
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:
        raise ParseError("the @ modifier's time must lie between 1970 and 9999") from None
    ms = int(at.timestamp() * 1000)
    if not 0 <= ms <= AT_LIMIT_MS:
        raise ParseError("the @ modifier's time must lie between 1970 and 9999")
    return ms


def _selector(node: pp.VectorSelector) -> Selector:
    if node.matchers.or_matchers:
        raise Unsupported("'or' inside a selector's braces is not supported")
    matchers = [Matcher.of("__name__", "=", node.name)] if node.name else []
    matchers += [Matcher.of(m.name, MATCH_OPS[str(m.op)], m.value) for m in node.matchers.matchers]
    return Selector(tuple(matchers), _ms(node, "offset"), _at(node.at))


def _node(node):
    """Translate one promql-parser node (recursively)."""
    if isinstance(node, pp.ParenExpr):
        return _node(node.expr)
    if isinstance(node, pp.NumberLiteral):
        return Number(float(node.val))
    if isinstance(node, pp.StringLiteral):
        return String(node.val)
    if isinstance(node, pp.VectorSelector):
        return _selector(node)
    if isinstance(node, pp.MatrixSelector):
        return RangeSelector(_selector(node.vector_selector), _ms(node, "range"))
    if isinstance(node, pp.SubqueryExpr):
        return Subquery(_node(node.expr), _ms(node, "range"), _ms(node, "step"), _ms(node, "offset"), _at(node.at))
    if isinstance(node, pp.UnaryExpr):
        return Negate(_node(node.expr))
    if isinstance(node, pp.Call):
        name = node.func.name
        if name not in FUNCTIONS:
            raise Unsupported(f"function {name}() is not supported")
        return Call(name, tuple(_node(arg) for arg in node.args))
    if isinstance(node, pp.AggregateExpr):
        return _aggregate(node)
    if isinstance(node, pp.BinaryExpr):
        return _binary(node)
    raise Unsupported(f"expression {node} is not supported")


def _aggregate(node: pp.AggregateExpr) -> Aggregate:
    op = str(node.op)
    if op not in (*AGGREGATIONS, *SELECTIONS, "count_values"):
        raise Unsupported(f"aggregation {op}() is not supported")
    modifier = node.modifier
    without = modifier is not None and modifier.type == pp.AggModifierType.Without
    labels = tuple(modifier.labels) if modifier is not None else ()
    param = None if node.param is None else _node(node.param)
    if isinstance(param, String):
        if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", param.value):
            raise ParseError(f"invalid label name {param.value!r} for count_values")
        param = param.value
    return Aggregate(op, _node(node.expr), without, labels, param)


def _binary(node: pp.BinaryExpr) -> Binary:
    op = str(node.op)
    if op not in ARITHMETIC + COMPARISONS + SET_OPERATORS:
        raise Unsupported(f"operator {op!r} is not supported")
    modifier = node.modifier
    if modifier is None:
        return Binary(op, _node(node.lhs), _node(node.rhs))
    card = ("many-to-one" if modifier.card == pp.VectorMatchCardinality.ManyToOne else
            "one-to-many" if modifier.card == pp.VectorMatchCardinality.OneToMany else
            "many-to-many" if modifier.card == pp.VectorMatchCardinality.ManyToMany else "one-to-one")
    matching = modifier.matching
    on = matching is not None and matching.type == pp.LabelModifierType.Include
    return Binary(op, _node(node.lhs), _node(node.rhs), bool(modifier.return_bool), card, on,
                  tuple(matching.labels) if matching is not None else (), tuple(modifier.group_labels or ()))
