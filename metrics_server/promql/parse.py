"""PromQL text → a small tree of plain dataclasses holding only what this engine evaluates.

The grammar is promql-parser's (the Rust parser of GreptimeDB, compatible with Prometheus 2.45): we never
parse PromQL ourselves. Translating its AST into our own nodes is where everything unsupported is refused,
before any data is read, with a message naming the function, aggregation or feature.
"""
import re
from dataclasses import dataclass, field
from datetime import timedelta

import promql_parser as pp

from metrics_server.labelregex import compile_anchored
from metrics_server.promql.errors import ParseError, Unsupported

RANGE_FUNCTIONS = ("rate", "irate", "increase", "delta", "idelta", "avg_over_time", "min_over_time",
                   "max_over_time", "sum_over_time", "count_over_time", "last_over_time", "anomaly_score")
# Ours, not Prometheus' (as MetricsQL adds its own): anomaly_score(v[range]), query/anomaly.py's last_of_windows.
pp.register_extra_functions([pp.Function("anomaly_score", [pp.ValueType.Matrix], pp.ValueType.Vector)])
MATH_FUNCTIONS = ("abs", "ceil", "floor", "exp", "ln", "log2", "log10", "sqrt")
OTHER_FUNCTIONS = ("time", "vector", "scalar", "histogram_quantile")
AGGREGATIONS = ("sum", "avg", "min", "max", "count", "group")
ARITHMETIC = ("+", "-", "*", "/", "%", "^", "atan2")
COMPARISONS = ("==", "!=", ">", "<", ">=", "<=")
MATCH_OPS = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}  # by str():
# the parser's enum members are not hashable


@dataclass(frozen=True)
class Matcher:
    """One label matcher; regexes are anchored at both ends, as in Prometheus."""

    name: str
    op: str  # =, !=, =~, !~
    value: str
    regex: object = field(default=None, compare=False, repr=False)  # labelregex.compile_anchored

    @classmethod
    def of(cls, name: str, op: str, value: str) -> "Matcher":
        """A matcher with its regex compiled once (ParseError when it does not compile)."""
        regex = None
        if op in ("=~", "!~"):
            try:
                regex = compile_anchored(value)
            except ValueError as error:
                raise ParseError(f"label {name}: {error}") from None
        return cls(name, op, value, regex)

    def matches(self, value: str) -> bool:
        """Whether a label value (empty when the label is absent) satisfies the matcher."""
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        found = self.regex.fullmatch(value) is not None
        return found if self.op == "=~" else not found


@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class Selector:
    """An instant vector selector: matchers (the metric name as `__name__`) and an offset."""

    matchers: tuple[Matcher, ...]
    offset_ms: int = 0


@dataclass(frozen=True)
class RangeSelector:
    selector: Selector
    range_ms: int


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple


@dataclass(frozen=True)
class Aggregate:
    op: str
    expr: object
    without: bool  # False: by(labels); True: without(labels)
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Binary:
    op: str
    lhs: object
    rhs: object
    return_bool: bool = False
    card: str = "one-to-one"  # one-to-one, many-to-one (group_left), one-to-many (group_right)
    on: bool = False  # True: on(labels); False: ignoring(labels)
    labels: tuple[str, ...] = ()
    include: tuple[str, ...] = ()  # group_left/group_right labels taken from the "one" side


@dataclass(frozen=True)
class Negate:
    expr: object


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


def _ms(delta: timedelta | None) -> int:
    return 0 if delta is None else int(delta / timedelta(milliseconds=1))


def _selector(node: pp.VectorSelector) -> Selector:
    if node.at is not None:
        raise Unsupported("the @ modifier is not supported")
    if node.matchers.or_matchers:
        raise Unsupported("'or' inside a selector's braces is not supported")
    matchers = [Matcher.of("__name__", "=", node.name)] if node.name else []
    matchers += [Matcher.of(m.name, MATCH_OPS[str(m.op)], m.value) for m in node.matchers.matchers]
    return Selector(tuple(matchers), _ms(node.offset))


def _node(node):
    """Translate one promql-parser node (recursively)."""
    if isinstance(node, pp.ParenExpr):
        return _node(node.expr)
    if isinstance(node, pp.NumberLiteral):
        return Number(float(node.val))
    if isinstance(node, pp.StringLiteral):
        raise Unsupported("string literals are not supported")
    if isinstance(node, pp.VectorSelector):
        return _selector(node)
    if isinstance(node, pp.MatrixSelector):
        return RangeSelector(_selector(node.vector_selector), _ms(node.range))
    if isinstance(node, pp.SubqueryExpr):
        raise Unsupported("subqueries are not supported")
    if isinstance(node, pp.UnaryExpr):
        return Negate(_node(node.expr))
    if isinstance(node, pp.Call):
        name = node.func.name
        if name not in RANGE_FUNCTIONS + MATH_FUNCTIONS + OTHER_FUNCTIONS:
            raise Unsupported(f"function {name}() is not supported")
        return Call(name, tuple(_node(arg) for arg in node.args))
    if isinstance(node, pp.AggregateExpr):
        op = str(node.op)
        if op not in AGGREGATIONS:
            raise Unsupported(f"aggregation {op}() is not supported")
        modifier = node.modifier
        without = modifier is not None and modifier.type == pp.AggModifierType.Without
        labels = tuple(modifier.labels) if modifier is not None else ()
        return Aggregate(op, _node(node.expr), without, labels)
    if isinstance(node, pp.BinaryExpr):
        return _binary(node)
    raise Unsupported(f"expression {node} is not supported")


def _binary(node: pp.BinaryExpr) -> Binary:
    op = str(node.op)
    if op not in ARITHMETIC + COMPARISONS:
        raise Unsupported(f"operator {op!r} is not supported")
    modifier = node.modifier
    if modifier is None:
        return Binary(op, _node(node.lhs), _node(node.rhs))
    card = ("many-to-one" if modifier.card == pp.VectorMatchCardinality.ManyToOne else
            "one-to-many" if modifier.card == pp.VectorMatchCardinality.OneToMany else "one-to-one")
    matching = modifier.matching
    on = matching is not None and matching.type == pp.LabelModifierType.Include
    return Binary(op, _node(node.lhs), _node(node.rhs), bool(modifier.return_bool), card, on,
                  tuple(matching.labels) if matching is not None else (), tuple(modifier.group_labels or ()))
