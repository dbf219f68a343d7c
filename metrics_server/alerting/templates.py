"""Prometheus' alert templates: Go's text/template as rule labels and annotations use it, bounded.

Go semantics: text and `{{ }}` actions with `{{-`/`-}}` trimming and comments; pipelines (`$value | humanize`);
variables with block scope (`$labels`, `$value`, `$externalLabels`, `$externalURL`, `$x := ...`, `$x = ...`);
fields (`.Labels.job`, `$labels.job`); `if`/`else if`/`else with`/`else`, `range` (with `$k, $v :=`, `break`,
`continue`), `with`, `define`, `template`, `block`; Go's builtins (printf, print, println, len, index, and, or,
not, eq, ne, lt, le, gt, ge, html, js, urlquery) and the functions of Prometheus' template reference
(humanize & friends, title, toUpper, toLower, match, reReplaceAll, query, first, label, value, strvalue,
sortByLabel, args, tmpl, safeHtml, externalURL, pathPrefix, parseDuration, stripPort, stripDomain, toTime).
graphLink and tableLink render as an empty string, as the compliance specification allows for a server
without Prometheus' /graph page. Regular expressions run in RE2 (linear time), as in Go.

Bounds, so that no template stalls the evaluator (issue 21): a template over MAX_SOURCE is refused at load time;
at evaluation, more than MAX_STEPS actions, MAX_QUERIES queries, MAX_OUTPUT characters, MAX_DEPTH nested
template calls or MAX_SECONDS of time stop the expansion with a TemplateError, which the rule shows as the
text (`<error expanding template: ...>`, as Prometheus does).
"""
import functools
import html
import json
import re
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from metrics_server.alerting.durations import parse_duration_ms
from metrics_server.alerting.gofmt import (
    Sample,
    go_g4,
    go_str,
    humanize,
    humanize1024,
    humanize_duration,
    humanize_timestamp,
    number,
    printf,
)
from metrics_server.goregex import compile_go

MAX_SOURCE = 16_384  # characters of one template (the compliance suite's longest is 430)
MAX_STEPS = 20_000  # actions run, function calls included
MAX_QUERIES = 10
MAX_OUTPUT = 65_536  # characters of one expansion
MAX_DEPTH = 20  # nested {{template}} calls
MAX_SECONDS = 2.0
UNSUPPORTED_LINKS = ("graphLink", "tableLink")


class TemplateError(ValueError):
    """A template that does not parse, or fails or goes over a bound while running; the message says which."""


class Budget:
    """What one expansion may still spend; `charge` raises TemplateError once a bound is passed."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.deadline = clock() + MAX_SECONDS
        self.steps = self.queries = self.output = 0

    def charge(self, steps: int = 1, queries: int = 0, output: int = 0) -> None:
        self.steps += steps
        self.queries += queries
        self.output += output
        for spent, bound, what in ((self.steps, MAX_STEPS, "actions"), (self.queries, MAX_QUERIES, "queries"),
                                   (self.output, MAX_OUTPUT, "characters of output")):
            if spent > bound:
                raise TemplateError(f"template stopped: more than {bound} {what}")
        if self.clock() > self.deadline:
            raise TemplateError(f"template stopped: ran longer than {MAX_SECONDS:g}s")


def parse_duration(text: str) -> float:
    """A Prometheus duration ('1h30m') in seconds."""
    return parse_duration_ms(str(text)) / 1000


def regex(pattern: str):
    """A Go (RE2) regular expression; a ValueError naming the pattern when RE2 refuses it."""
    return compile_go(str(pattern))


GO_GROUP = re.compile(r"\$(\d+|\{\d+\})")


def re_replace_all(pattern: str, replacement: str, text: str) -> str:
    """Go's Regexp.ReplaceAllString ($1 and ${1} name groups); refused when the result would pass MAX_OUTPUT."""
    compiled, text = regex(pattern), str(text)
    matches = sum(1 for _ in compiled.finditer(text))
    if len(text) + matches * len(replacement) > MAX_OUTPUT:
        raise ValueError(f"the replacement would be longer than {MAX_OUTPUT} characters")
    return compiled.sub(GO_GROUP.sub(lambda m: "\\" + m.group(1).strip("{}"), replacement.replace("\\", "\\\\")),
                        text)


def strip_port(host: str) -> str:
    """net.SplitHostPort's host, or the text itself when it has no port: '[::1]:6006' → '::1'."""
    host = str(host)
    if host.startswith("[") and "]" in host:
        return host[1:host.index("]")]
    name, colon, port = host.rpartition(":")
    return name if colon and port.isdigit() and ":" not in name else host


def title(text: str) -> str:
    """strings.Title: the first letter of every word in upper case."""
    return re.sub(r"(?<![^\W_])[^\W\d_]", lambda m: m.group().upper(), str(text))


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


def _first(samples: list[Sample]) -> Sample:
    if not samples:
        raise ValueError("first() called on vector with no elements")
    return samples[0]


@dataclass
class Context:
    """What one expansion may use: the element's labels and value, the evaluation time, a query function."""

    labels: dict[str, str]
    value: float
    time_ms: int = 0
    query: Callable[[str, int], list[tuple[dict, float]]] | None = None
    external_labels: dict[str, str] = field(default_factory=dict)
    external_url: str = ""


# ---- parsing: text/template's grammar ----

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
BLOCKS = ("if", "range", "with")


@dataclass
class Node:
    kind: str  # text, output, if, range, with, template, break, continue
    text: str = ""  # the text, or the name of a template
    pipeline: list | None = None
    body: list = field(default_factory=list)
    orelse: list = field(default_factory=list)
    names: tuple = ()  # variables the pipeline declares or assigns
    assign: bool = False  # `$x = ...` (sets an existing variable) rather than `$x := ...`
    chained: bool = False  # an `else if`/`else with`: the outer {{end}} closes it too


@dataclass
class Template:
    """A parsed template: its main body and the templates it defines."""

    body: list[Node]
    defined: dict[str, list[Node]]


def tokenize(source: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    source = source.strip()
    while position < len(source):
        match = TOKEN.match(source, position)
        if not match or match.end() == position:
            raise TemplateError(f"unexpected {source[position:position + 40]!r} in action")
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
            if not stack or not command:
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


def declared(text: str) -> tuple[tuple, bool, list]:
    """A pipeline's leading `$a[, $b] :=` (or `=`): the names, whether it assigns, and the pipeline."""
    tokens = tokenize(text)
    split = next((i for i, (kind, _) in enumerate(tokens) if kind == "declare"), None)
    if split is None:
        return (), False, parse_pipeline(tokens)
    names = tuple(text for kind, text in tokens[:split] if kind == "variable")
    if not names or len(names) > 2 or any(kind not in ("variable", "punct") for kind, _ in tokens[:split]):
        raise TemplateError(f"bad declaration in {text[:40]!r}")
    return names, tokens[split][1] == "=", parse_pipeline(tokens[split + 1:])


def quoted_name(text: str) -> tuple[str, str]:
    """The leading quoted template name of `define`/`template`/`block` and the rest of the action."""
    match = re.match(r'\s*("(?:[^"\\]|\\.)*"|`[^`]*`)\s*(.*)$', text, re.S)
    if not match:
        raise TemplateError(f"expected a quoted template name in {text[:40]!r}")
    name = match.group(1)
    return (name[1:-1] if name.startswith("`") else json.loads(name)), match.group(2)


def first_word(text: str) -> tuple[str, str]:
    """An action's keyword and the rest of it."""
    return tuple((text.split(None, 1) + ["", ""])[:2])


class Parser:
    """Builds the node tree action by action, with a stack of open blocks."""

    def __init__(self) -> None:
        self.root: list[Node] = []
        self.defined: dict[str, list[Node]] = {}
        self.stack: list[tuple[Node | None, list[Node]]] = [(None, self.root)]

    def add(self, node: Node) -> None:
        self.stack[-1][1].append(node)

    def action(self, body: str) -> None:
        word, rest = first_word(body)
        if word in BLOCKS:
            names, assign, pipeline = declared(rest)
            node = Node(word, pipeline=pipeline, names=names, assign=assign)
            self.add(node)
            self.stack.append((node, node.body))
        elif word == "else":
            self.orelse(rest.strip())
        elif word == "end":
            self.end()
        elif word == "define":
            if len(self.stack) > 1:
                raise TemplateError("{{define}} must be at the top level")
            name, rest = quoted_name(rest)
            if rest.strip():
                raise TemplateError(f"unexpected {rest.strip()[:40]!r} in define")
            self.defined[name] = []
            self.stack.append((Node("define", text=name), self.defined[name]))
        elif word in ("template", "block"):
            name, rest = quoted_name(rest)
            node = Node("template", text=name, pipeline=parse_pipeline(tokenize(rest)) if rest.strip() else None)
            self.add(node)
            if word == "block":
                self.defined[name] = []
                self.stack.append((Node("define", text=name), self.defined[name]))
        elif word in ("break", "continue"):
            if not any(owner is not None and owner.kind == "range" for owner, _ in self.stack):
                raise TemplateError(f"{{{{{word}}}}} outside {{{{range}}}}")
            self.add(Node(word))
        else:
            names, assign, pipeline = declared(body)
            self.add(Node("output", pipeline=pipeline, names=names, assign=assign))

    def orelse(self, rest: str) -> None:
        owner, _ = self.stack[-1]
        if owner is None or owner.kind not in BLOCKS:
            raise TemplateError("unexpected {{else}}")
        self.stack[-1] = (owner, owner.orelse)
        word, rest = first_word(rest)
        if word in ("if", "with"):
            names, assign, pipeline = declared(rest)
            nested = Node(word, pipeline=pipeline, names=names, assign=assign, chained=True)
            owner.orelse.append(nested)
            self.stack.append((nested, nested.body))
        elif word:
            raise TemplateError(f"unexpected {word!r} after else")

    def end(self) -> None:
        if len(self.stack) == 1:
            raise TemplateError("unexpected {{end}}")
        while self.stack[-1][0].chained:
            self.stack.pop()
        self.stack.pop()


@functools.lru_cache(maxsize=1024)
def parse(source: str) -> Template:
    """The node tree of a template (cached: a rule's templates run for every alert at every evaluation, and
    running never changes the tree); raises TemplateError naming what is wrong."""
    if len(source) > MAX_SOURCE:
        raise TemplateError(f"template longer than {MAX_SOURCE} characters")
    parser = Parser()
    position, trim_next = 0, False
    for match in ACTION.finditer(source):
        text = source[position:match.start()]
        if trim_next:
            text = text.lstrip()
        if match.group(1):
            text = text.rstrip()
        if text:
            parser.add(Node("text", text))
        trim_next, position = bool(match.group(3)), match.end()
        body = match.group(2).strip()
        if body.startswith("/*"):
            if not body.endswith("*/"):
                raise TemplateError("unclosed comment")
            continue
        parser.action(body)
    text = source[position:]
    if "{{" in text:
        raise TemplateError("unclosed action")
    if trim_next:
        text = text.lstrip()
    if text:
        parser.add(Node("text", text))
    if len(parser.stack) != 1:
        raise TemplateError("unexpected EOF: missing {{end}}")
    return Template(parser.root, parser.defined)


# ---- running ----

class Break(Exception):
    """{{break}}: leaves the innermost range."""


class Continue(Exception):
    """{{continue}}: the next element of the innermost range."""


class Runner:
    """Runs one parsed template for one alert, within one Budget."""

    def __init__(self, template: Template, context: Context, budget: Budget):
        self.template, self.context, self.budget = template, context, budget
        self.functions = self.function_table()
        self.scopes: list[dict[str, Any]] = [{
            "$labels": context.labels, "$value": context.value,
            "$externalLabels": context.external_labels, "$externalURL": context.external_url,
        }]
        self.depth = 0

    def function_table(self) -> dict[str, Callable]:
        context = self.context

        def query(text: str) -> list[Sample]:
            if context.query is None:
                raise ValueError("query is not available here")
            self.budget.charge(queries=1)
            return [Sample(dict(labels), float(value)) for labels, value in context.query(text, context.time_ms)]

        def tmpl(name: str, data: Any = None) -> str:
            out: list[str] = []
            self.call(name, data, out)
            return "".join(out)

        return {
            **{name: (lambda *args: "") for name in UNSUPPORTED_LINKS},
            "externalURL": lambda: context.external_url,
            "pathPrefix": lambda: urllib.parse.urlsplit(context.external_url).path.rstrip("/"),
            "query": query, "first": _first, "tmpl": tmpl, "safeHtml": str,
            "label": lambda name, sample: sample.Labels.get(name, "") if sample else "",
            "value": lambda sample: sample.Value if sample else None,
            "strvalue": lambda sample: sample.Labels.get("__value__", "") if sample else "",
            "sortByLabel": lambda name, samples: sorted(samples, key=lambda s: s.Labels.get(name, "")),
            "args": lambda *a: {f"arg{i}": v for i, v in enumerate(a)},
            "humanize": humanize, "humanize1024": humanize1024, "humanizeDuration": humanize_duration,
            "humanizePercentage": lambda v: f"{go_g4(number(v) * 100)}%",
            "humanizeTimestamp": humanize_timestamp,
            "toTime": humanize_timestamp, "parseDuration": parse_duration,
            "title": title, "toUpper": lambda s: str(s).upper(), "toLower": lambda s: str(s).lower(),
            "match": lambda pattern, text: regex(pattern).search(str(text)) is not None,
            "reReplaceAll": re_replace_all, "stripPort": strip_port,
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

    # variables: a stack of scopes, one per block, as Go scopes them

    def lookup(self, name: str) -> Any:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        raise TemplateError(f"undefined variable: {name}")

    def bind(self, names: tuple, values: tuple, assign: bool) -> None:
        for name, value in zip(names, values):
            if assign:
                scope = next((s for s in reversed(self.scopes) if name in s), None)
                if scope is None:
                    raise TemplateError(f"undefined variable: {name}")
                scope[name] = value
            else:
                self.scopes[-1][name] = value

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
            return self.fields(self.lookup(name), names)
        if kind == "field":
            return dot if text == "." else self.fields(dot, text[1:].split("."))
        if kind == "word" and text in ("true", "false", "nil"):
            return {"true": True, "false": False, "nil": None}[text]
        raise TemplateError(f"unexpected {text!r}")

    def command(self, command: list, dot: Any, piped: tuple) -> Any:
        self.budget.charge()
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

    def write(self, text: str, out: list[str]) -> None:
        self.budget.charge(output=len(text))
        out.append(text)

    def block(self, nodes: list[Node], dot: Any, out: list[str], variables: dict | None = None) -> None:
        self.scopes.append(variables or {})
        try:
            self.run(nodes, dot, out)
        finally:
            self.scopes.pop()

    def run(self, nodes: list[Node], dot: Any, out: list[str]) -> None:
        for node in nodes:
            self.budget.charge()
            if node.kind == "text":
                self.write(node.text, out)
            elif node.kind == "output":
                value = self.pipeline(node.pipeline, dot)
                if node.names:
                    self.bind(node.names, (value,), node.assign)
                else:
                    self.write(go_str(value), out)
            elif node.kind in ("if", "with"):
                self.conditional(node, dot, out)
            elif node.kind == "range":
                self.range(node, dot, out)
            elif node.kind == "template":
                self.call(node.text, None if node.pipeline is None else self.pipeline(node.pipeline, dot), out)
            elif node.kind == "break":
                raise Break
            elif node.kind == "continue":
                raise Continue

    def conditional(self, node: Node, dot: Any, out: list[str]) -> None:
        self.scopes.append({})  # the pipeline's variables are visible in both branches
        try:
            value = self.pipeline(node.pipeline, dot)
            if node.names:
                self.bind(node.names, (value,), node.assign)
            if _truth(value):
                self.block(node.body, value if node.kind == "with" else dot, out)
            else:
                self.block(node.orelse, dot, out)
        finally:
            self.scopes.pop()

    def range(self, node: Node, dot: Any, out: list[str]) -> None:
        value = self.pipeline(node.pipeline, dot)
        if isinstance(value, dict):
            items = sorted(value.items())
        elif isinstance(value, (list, tuple)):
            items = list(enumerate(value))
        elif value is None:
            items = []
        else:
            raise TemplateError(f"range can't iterate over {go_str(value)[:40]}")
        if not items:
            self.block(node.orelse, dot, out)
        for key, element in items:
            pair = (key, element) if len(node.names) == 2 else (element,)
            variables = {}
            if node.assign:
                self.bind(node.names, pair, True)
            else:
                variables = dict(zip(node.names, pair))
            try:
                self.block(node.body, element, out, variables)
            except Continue:
                continue
            except Break:
                break

    def call(self, name: str, data: Any, out: list[str]) -> None:
        """{{template "name" data}}: the defined template with dot and $ set to data, in a scope of its own."""
        body = self.template.defined.get(name)
        if body is None:
            raise TemplateError(f'no such template "{name}"')
        if self.depth >= MAX_DEPTH:
            raise TemplateError(f"template stopped: more than {MAX_DEPTH} nested template calls")
        scopes, self.scopes = self.scopes, [{"$": data}]
        self.depth += 1
        try:
            self.run(body, data, out)
        finally:
            self.scopes, self.depth = scopes, self.depth - 1


def check(source: str) -> None:
    """Raise TemplateError if `source` does not parse or calls a template it does not define (rule validation
    calls this at load time)."""
    template = parse(source)
    bodies = [template.body, *template.defined.values()]
    while bodies:
        for node in bodies.pop():
            if node.kind == "template" and node.text not in template.defined:
                raise TemplateError(f'no such template "{node.text}"')
            bodies += [node.body, node.orelse]


def expand(source: str, context: Context, budget: Budget | None = None) -> str:
    """The template run for one alert; raises TemplateError (the evaluator then shows the error as the text,
    as Prometheus does: `<error expanding template: ...>`)."""
    if "{{" not in source:
        return source
    template = parse(source)
    data = {"Labels": context.labels, "Value": context.value, "ExternalLabels": context.external_labels,
            "ExternalURL": context.external_url}
    runner = Runner(template, context, budget or Budget())
    runner.scopes[0]["$"] = data
    out: list[str] = []
    try:
        runner.run(template.body, data, out)
    except RecursionError:
        raise TemplateError("template stopped: nested too deeply") from None
    return "".join(out)

