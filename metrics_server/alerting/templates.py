"""Prometheus' alert templates: the part of Go's text/template that rule labels and annotations use.

Supported: text and `{{ }}` actions with `{{-`/`-}}` trimming and comments; pipelines (`$value | humanize`);
variables (`$labels`, `$value`, `$externalLabels`, `$externalURL`, `$x := ...`); fields (`.Labels.job`,
`.Value`, `$labels.job`); `if`/`else if`/`else`, `range` (with `$k, $v :=`), `with`, `end`; Go's builtins
(printf, print, len, index, and, or, not, eq, ne, lt, le, gt, ge, html, js, urlquery) and Prometheus'
functions from the v2.33 template reference (humanize & friends, title, toUpper, toLower, match,
reReplaceAll, query, first, label, value, sortByLabel, args, parseDuration, stripPort, stripDomain, toTime).
The optional ones the compliance specification lists (graphLink, tableLink, tmpl, pathPrefix, safeHtml,
strvalue) are accepted and render as an empty string, as it requires. Values print as Go prints them
(`{{ $value }}` of 1e6 is `1e+06`), so messages read as in Prometheus.
"""
import datetime
import html
import json
import math
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from metrics_server.alerting.durations import parse_duration_ms

NO_VALUE = "<no value>"  # what Go prints for a missing map key
EMPTY_FUNCTIONS = ("graphLink", "tableLink", "tmpl", "pathPrefix", "safeHtml", "strvalue")


class TemplateError(ValueError):
    """A template that does not parse, or fails while running; the message says where."""


def shortest_e(value: float) -> str:
    """The shortest digits that read back as `value`, in exponent form ('1.5e+01'), as strconv finds them."""
    for precision in range(17):
        candidate = format(value, f".{precision}e")
        if float(candidate) == value:
            return candidate
    return format(value, ".16e")


def go_float(value: float) -> str:
    """A float64 as Go's %v prints it: the shortest digits, in exponent form when the exponent is below -4 or
    at least 6 (strconv's 'g' with precision -1): 1e6 → '1e+06', 123456 → '123456', 0.0001 → '0.0001'."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    sign = "-" if value < 0 else ""
    significand, exp = shortest_e(abs(value)).split("e")
    exp = int(exp)
    digits = significand.replace(".", "")
    point = exp + 1  # where the decimal point goes, strconv's dp
    if exp < -4 or exp >= 6:
        return f"{sign}{significand}e{'+' if exp >= 0 else '-'}{abs(exp):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


def go_e(value: float) -> str:
    """strconv.FormatFloat(v, 'e', -1, 64): how Prometheus' API states an alert's value (11 → '1.1e+01')."""
    if math.isnan(value) or math.isinf(value):
        return go_float(value)
    significand, exp = shortest_e(value).split("e")
    return f"{significand}e{exp[0]}{int(exp[1:]):02d}"


def go_str(value: Any) -> str:
    """Any template value printed as Go would."""
    if value is None:
        return NO_VALUE
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_str(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_str(v) for v in value) + "]"
    if isinstance(value, Sample):
        return "{" + go_str(value.Labels) + " " + go_float(value.Value) + "}"
    return str(value)


def number(value: Any) -> float:
    """Prometheus' convertToFloat: numbers and numeric strings."""
    if isinstance(value, Sample):
        value = value.Value
    if isinstance(value, bool):
        raise TemplateError(f"can't convert {value} to float")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TemplateError(f"can't convert {value!r} to float") from None


def _scaled(value: float, steps: list[str], base: float, suffix: str = "") -> str:
    prefix = ""
    if abs(value) >= 1:
        for step in steps:
            if abs(value) < base:
                break
            prefix, value = step, value / base
    return f"{go_g4(value)}{prefix}{suffix}"


def go_g4(value: float) -> str:
    """Go's %.4g (exponent with at least two digits, as in C)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return format(value, ".4g")


def _small(v: float) -> tuple[str, str]:
    """A magnitude below 1 scaled up by thousands: (its %.4g, the SI prefix: m, u, n, ...)."""
    prefix = ""
    for step in ["m", "u", "n", "p", "f", "a", "z", "y"]:
        if abs(v) >= 1:
            break
        prefix, v = step, v * 1000
    return go_g4(v), prefix


def humanize(value: Any) -> str:
    """1234 → 1.234k, 0.001 → 1m: SI prefixes, four significant digits."""
    v = number(value)
    if v == 0 or math.isnan(v) or math.isinf(v):
        return go_g4(v)
    if abs(v) >= 1:
        return _scaled(v, ["k", "M", "G", "T", "P", "E", "Z", "Y"], 1000)
    return "{}{}".format(*_small(v))


def humanize1024(value: Any) -> str:
    """1048576 → 1Mi: binary prefixes."""
    v = number(value)
    if abs(v) <= 1 or math.isnan(v) or math.isinf(v):
        return go_g4(v)
    return _scaled(v, ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"], 1024)


def humanize_duration(value: Any) -> str:
    """Seconds as 1d 2h 3m 4s (and 1.5s, 100ms below a second)."""
    v = number(value)
    if math.isnan(v) or math.isinf(v):
        return go_g4(v)
    if v == 0:
        return "0s"
    if abs(v) >= 1:
        sign, v = ("-", -v) if v < 0 else ("", v)
        whole = int(v)
        seconds, minutes, hours, days = whole % 60, whole // 60 % 60, whole // 3600 % 24, whole // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{go_g4(v)}s"
    return "{}{}s".format(*_small(v))


def humanize_timestamp(value: Any) -> str:
    """Epoch seconds as Go's time.Time prints in UTC: 2024-02-02 11:43:02 +0000 UTC."""
    v = number(value)
    if math.isnan(v) or math.isinf(v):
        return go_g4(v)
    moment = datetime.datetime.fromtimestamp(v, datetime.UTC)
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    return moment.strftime("%Y-%m-%d %H:%M:%S") + (f".{fraction}" if fraction else "") + " +0000 UTC"


GO_VERB = re.compile(r"%([-+# 0]*\d*(?:\.\d+)?)([vdsfgeqxXtT%])")


def printf(fmt: str, *args: Any) -> str:
    """Go's fmt.Sprintf for the verbs templates use (%v %s %d %f %g %e %q %x %t %%)."""
    values = iter(args)

    def one(match: re.Match) -> str:
        flags, verb = match.groups()
        if verb == "%":
            return "%"
        arg = next(values, None)
        if verb in "vsT" or (verb == "t" and isinstance(arg, bool)):
            return ("%" + flags + "s") % (type(arg).__name__ if verb == "T" else go_str(arg))
        if verb == "q":
            return json.dumps(go_str(arg))
        if verb == "d":
            return ("%" + flags + "d") % int(number(arg))
        return ("%" + flags + verb) % (int(number(arg)) if verb in "xX" else number(arg))

    return GO_VERB.sub(one, fmt)


def parse_duration(text: str) -> float:
    """A Prometheus duration ('1h30m') in seconds."""
    return parse_duration_ms(str(text)) / 1000


@dataclass
class Sample:
    """A query result element as templates see it: .Labels and .Value."""

    Labels: dict
    Value: float


def _compare(op: Callable[[Any, Any], bool]) -> Callable:
    def compare(a, b, *more):
        if more:  # eq a b c: a equals any of them
            return any(op(a, x) for x in (b, *more))
        return op(a, b)
    return compare


def _truth(value: Any) -> bool:
    """Go's notion of empty: false, 0, nil, "" and empty collections are false."""
    if isinstance(value, Sample):
        return True
    return bool(value)


def _index(collection: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(collection, dict):
            collection = collection.get(key)
        else:
            collection = collection[int(key)]
    return collection


@dataclass
class Context:
    """What one expansion may use: the element's labels and value, the evaluation time, a query function."""

    labels: dict[str, str]
    value: float
    time_ms: int = 0
    query: Callable[[str, int], list[tuple[dict, float]]] | None = None
    external_labels: dict[str, str] = field(default_factory=dict)
    external_url: str = ""

    def functions(self) -> dict[str, Callable]:
        def query(text: str) -> list[Sample]:
            if self.query is None:
                raise TemplateError("query is not available here")
            return [Sample(dict(labels), float(value)) for labels, value in self.query(text, self.time_ms)]

        def sort_by_label(name: str, samples: list[Sample]) -> list[Sample]:
            return sorted(samples, key=lambda sample: sample.Labels.get(name, ""))

        return {
            **{name: (lambda *args: "") for name in EMPTY_FUNCTIONS},
            "externalURL": lambda: self.external_url,
            "query": query, "first": lambda samples: samples[0] if samples else None,
            "label": lambda name, sample: sample.Labels.get(name, "") if sample else "",
            "value": lambda sample: sample.Value if sample else None,
            "sortByLabel": sort_by_label, "args": lambda *a: {f"arg{i}": v for i, v in enumerate(a)},
            "humanize": humanize, "humanize1024": humanize1024, "humanizeDuration": humanize_duration,
            "humanizePercentage": lambda v: f"{go_g4(number(v) * 100)}%",
            "humanizeTimestamp": humanize_timestamp,
            "toTime": lambda v: humanize_timestamp(v), "parseDuration": parse_duration,
            "title": lambda s: re.sub(r"\b\w", lambda m: m.group().upper(), str(s)),
            "toUpper": lambda s: str(s).upper(), "toLower": lambda s: str(s).lower(),
            "match": lambda pattern, text: re.search(pattern, str(text)) is not None,
            "reReplaceAll": lambda pattern, repl, text: re.sub(pattern, re.sub(r"\$(\d+)", r"\\\1", repl),
                                                               str(text)),
            "stripPort": lambda host: re.sub(r":\d+$", "", str(host)) if not str(host).startswith("[")
            else str(host).split("]")[0] + "]",
            "stripDomain": lambda host: str(host).split(":")[0].split(".")[0] + (
                ":" + str(host).rsplit(":", 1)[1] if ":" in str(host) else ""),
            "printf": printf, "print": lambda *a: "".join(go_str(v) for v in a),
            "println": lambda *a: " ".join(go_str(v) for v in a) + "\n",
            "len": len, "index": _index, "not": lambda v: not _truth(v),
            "and": lambda *a: next((v for v in a if not _truth(v)), a[-1]),
            "or": lambda *a: next((v for v in a if _truth(v)), a[-1]),
            "eq": _compare(lambda a, b: a == b), "ne": _compare(lambda a, b: a != b),
            "lt": _compare(lambda a, b: a < b), "le": _compare(lambda a, b: a <= b),
            "gt": _compare(lambda a, b: a > b), "ge": _compare(lambda a, b: a >= b),
            "html": lambda *a: html.escape("".join(go_str(v) for v in a)),
            "js": lambda *a: json.dumps("".join(go_str(v) for v in a))[1:-1],
            "urlquery": lambda *a: urllib.parse.quote_plus("".join(go_str(v) for v in a)),
        }


# ---- parsing: text/template's grammar, the subset above ----

TOKEN = re.compile(r"""\s*(?:
    (?P<string>"(?:[^"\\]|\\.)*"|`[^`]*`)
  | (?P<number>[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?))
  | (?P<declare>:=|=)
  | (?P<punct>[|(),])
  | (?P<variable>\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
  | (?P<field>(?:\.[A-Za-z0-9_]+)+|\.)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
)""", re.X)
ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)


@dataclass
class Node:
    kind: str  # text, output, if, range, with, declare
    text: str = ""
    pipeline: list | None = None
    body: list = field(default_factory=list)
    orelse: list = field(default_factory=list)
    names: tuple = ()


def tokenize(source: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    source = source.strip()
    while position < len(source):
        match = TOKEN.match(source, position)
        if not match or match.end() == position:
            raise TemplateError(f"unexpected {source[position:]!r} in action")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def parse_pipeline(tokens: list[tuple[str, str]]) -> list:
    """Commands separated by `|`; each command a list of operands (a nested pipeline for parentheses)."""
    commands, command, stack = [], [], []
    for kind, text in tokens:
        if kind == "punct" and text == "(":
            stack.append((commands, command))
            commands, command = [], []
        elif kind == "punct" and text == ")":
            if not stack:
                raise TemplateError("unexpected ) in action")
            commands.append(command)
            inner = commands
            commands, command = stack.pop()
            command.append(("pipeline", inner))
        elif kind == "punct" and text == "|":
            if not command:
                raise TemplateError("missing command before |")
            commands.append(command)
            command = []
        elif kind == "punct":
            raise TemplateError(f"unexpected {text!r} in action")
        else:
            command.append((kind, text))
    if stack:
        raise TemplateError("unclosed ( in action")
    if not command:
        raise TemplateError("missing value for command")
    commands.append(command)
    return commands


def parse(source: str) -> list[Node]:
    """The node tree of a template; raises TemplateError naming what is wrong."""
    root: list[Node] = []
    stack: list[tuple[Node | None, list[Node]]] = [(None, root)]
    position, trim_next = 0, False
    for match in ACTION.finditer(source):
        text = source[position:match.start()]
        if trim_next:
            text = text.lstrip()
        if match.group(1):
            text = text.rstrip()
        if text:
            stack[-1][1].append(Node("text", text))
        trim_next, position = bool(match.group(3)), match.end()
        body = match.group(2).strip()
        if body.startswith("/*"):
            if not body.endswith("*/"):
                raise TemplateError("unclosed comment")
            continue
        word, _, rest = body.partition(" ")
        if word in ("if", "range", "with"):
            node = Node(word)
            tokens = tokenize(rest)
            if word == "range" and any(kind == "declare" for kind, _ in tokens):
                split = next(i for i, (kind, _) in enumerate(tokens) if kind == "declare")
                node.names = tuple(text for kind, text in tokens[:split] if kind == "variable")
                tokens = tokens[split + 1:]
            node.pipeline = parse_pipeline(tokens)
            stack[-1][1].append(node)
            stack.append((node, node.body))
        elif word == "else":
            owner, _ = stack[-1]
            if owner is None:
                raise TemplateError("unexpected {{else}}")
            if rest.startswith("if "):  # else if: a nested if that the outer end also closes
                nested = Node("if", pipeline=parse_pipeline(tokenize(rest[3:])), names=("elseif",))
                owner.orelse.append(nested)
                stack[-1] = (owner, owner.orelse)
                stack.append((nested, nested.body))
            else:
                stack[-1] = (owner, owner.orelse)
        elif word == "end":
            if len(stack) == 1:
                raise TemplateError("unexpected {{end}}")
            while stack[-1][0] is not None and stack[-1][0].names == ("elseif",):
                stack.pop()
            stack.pop()
        elif word in ("define", "template", "block", "break", "continue"):
            raise TemplateError(f"{{{{{word}}}}} is not supported in alert templates")
        else:
            tokens = tokenize(body)
            if len(tokens) > 2 and tokens[0][0] == "variable" and tokens[1][0] == "declare":
                stack[-1][1].append(Node("declare", names=(tokens[0][1],), pipeline=parse_pipeline(tokens[2:])))
            else:
                stack[-1][1].append(Node("output", pipeline=parse_pipeline(tokens)))
    text = source[position:]
    if "{{" in text:
        raise TemplateError("unclosed action")
    if trim_next:
        text = text.lstrip()
    if text:
        stack[-1][1].append(Node("text", text))
    if len(stack) != 1:
        raise TemplateError("unexpected EOF: missing {{end}}")
    return root


# ---- running ----

class Runner:
    def __init__(self, context: Context):
        self.functions = context.functions()
        self.variables: dict[str, Any] = {
            "$": {"Labels": context.labels, "Value": context.value},
            "$labels": context.labels, "$value": context.value,
            "$externalLabels": context.external_labels, "$externalURL": context.external_url,
        }

    def fields(self, value: Any, names: list[str]) -> Any:
        for name in names:
            if isinstance(value, dict):
                value = value.get(name)
            elif isinstance(value, Sample) and name in ("Labels", "Value"):
                value = getattr(value, name)
            else:
                raise TemplateError(f"can't evaluate field {name} in type {type(value).__name__}")
        return value

    def operand(self, kind: str, text: Any, dot: Any) -> Any:
        if kind == "string":
            return text[1:-1] if text.startswith("`") else json.loads(text)
        if kind == "number":
            return float(text) if any(c in text for c in ".eE") else int(text)
        if kind == "pipeline":
            return self.pipeline(text, dot)
        if kind == "variable":
            name, *names = text.split(".")
            if name not in self.variables:
                raise TemplateError(f"undefined variable: {name}")
            return self.fields(self.variables[name], names)
        if kind == "field":
            return dot if text == "." else self.fields(dot, text[1:].split("."))
        if kind == "word" and text in ("true", "false", "nil"):
            return {"true": True, "false": False, "nil": None}[text]
        raise TemplateError(f"unexpected {text!r}")

    def command(self, command: list, dot: Any, piped: tuple) -> Any:
        kind, text = command[0]
        if kind == "word" and text not in ("true", "false", "nil"):
            function = self.functions.get(text)
            if function is None:
                raise TemplateError(f'function "{text}" not defined')
            args = [self.operand(k, t, dot) for k, t in command[1:]] + list(piped)
            try:
                return function(*args)
            except TemplateError:
                raise
            except Exception as error:
                raise TemplateError(f"error calling {text}: {error}") from None
        if len(command) > 1 or piped:
            raise TemplateError(f"can't give argument to non-function {text}")
        return self.operand(kind, text, dot)

    def pipeline(self, commands: list, dot: Any) -> Any:
        value, piped = None, ()
        for command in commands:
            value = self.command(command, dot, piped)
            piped = (value,)
        return value

    def run(self, nodes: list[Node], dot: Any, out: list[str]) -> None:
        for node in nodes:
            if node.kind == "text":
                out.append(node.text)
            elif node.kind == "output":
                out.append(go_str(self.pipeline(node.pipeline, dot)))
            elif node.kind == "declare":
                self.variables[node.names[0]] = self.pipeline(node.pipeline, dot)
            elif node.kind in ("if", "with"):
                value = self.pipeline(node.pipeline, dot)
                if _truth(value):
                    self.run(node.body, value if node.kind == "with" else dot, out)
                else:
                    self.run(node.orelse, dot, out)
            elif node.kind == "range":
                self.range(node, self.pipeline(node.pipeline, dot), out)

    def range(self, node: Node, value: Any, out: list[str]) -> None:
        items = sorted(value.items()) if isinstance(value, dict) else list(enumerate(value or []))
        if not items:
            self.run(node.orelse, value, out)
        for key, element in items:
            if len(node.names) == 2:
                self.variables[node.names[0]], self.variables[node.names[1]] = key, element
            elif len(node.names) == 1:
                self.variables[node.names[0]] = element
            self.run(node.body, element, out)


def check(source: str) -> None:
    """Raise TemplateError if `source` does not parse (rule validation calls this at load time)."""
    parse(source)


def expand(source: str, context: Context) -> str:
    """The template run for one alert; raises TemplateError (the evaluator then shows the error as the text,
    as Prometheus does: `<error expanding template: ...>`)."""
    if "{{" not in source:
        return source
    out: list[str] = []
    Runner(context).run(parse(source), {"Labels": context.labels, "Value": context.value}, out)
    return "".join(out)
