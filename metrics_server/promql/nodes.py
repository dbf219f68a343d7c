"""The expression tree: what parse.py builds from PromQL text and evaluate.py walks, plain frozen dataclasses.

Kept apart from the parser so that the function table (functions.py), which inspects these nodes, and the parser,
which accepts exactly the names of that table, depend on this module and not on each other. Times are ms; an `@`
is a time, or "start"/"end" (the query's).
"""
from dataclasses import dataclass, field

from metrics_server.goregex import compile_go
from metrics_server.promql.errors import ParseError

ARITHMETIC = ("+", "-", "*", "/", "%", "^", "atan2")
COMPARISONS = ("==", "!=", ">", "<", ">=", "<=")
SET_OPERATORS = ("and", "or", "unless")


@dataclass(frozen=True)
class Matcher:
    """One label matcher; regexes are anchored at both ends, as in Prometheus."""

    name: str
    op: str  # =, !=, =~, !~
    value: str
    regex: object = field(default=None, compare=False, repr=False)  # goregex.compile_go

    @classmethod
    def of(cls, name: str, op: str, value: str) -> "Matcher":
        """A matcher with its regex compiled once (ParseError when it does not compile)."""
        regex = None
        if op in ("=~", "!~"):
            try:
                regex = compile_go(value)
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
class String:
    value: str


@dataclass(frozen=True)
class Selector:
    """An instant vector selector: matchers (the metric name as `__name__`), an offset and an @ time."""

    matchers: tuple[Matcher, ...]
    offset_ms: int = 0
    at: int | str | None = None


@dataclass(frozen=True)
class RangeSelector:
    selector: Selector
    range_ms: int


@dataclass(frozen=True)
class Subquery:
    """expr[range:step] offset/@: the expression evaluated every step (the default interval when 0), as a range."""

    expr: object
    range_ms: int
    step_ms: int
    offset_ms: int = 0
    at: int | str | None = None


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
    param: object = None  # topk/bottomk's k, quantile's φ (nodes), count_values' label (a str)


@dataclass(frozen=True)
class Binary:
    op: str
    lhs: object
    rhs: object
    return_bool: bool = False
    card: str = "one-to-one"  # one-to-one, many-to-one (group_left), one-to-many (group_right), many-to-many
    on: bool = False  # True: on(labels); False: ignoring(labels)
    labels: tuple[str, ...] = ()
    include: tuple[str, ...] = ()  # group_left/group_right labels taken from the "one" side


@dataclass(frozen=True)
class Negate:
    expr: object
