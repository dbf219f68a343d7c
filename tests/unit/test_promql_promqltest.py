"""Prometheus' own engine tests (promql/testdata/*.test of v2.42.0, the version whose semantics we follow) run
through our engine: each `load` block becomes samples, each `eval instant` an instant query compared as
Prometheus' test runner compares (same series, values equal to 1e-6 relative, NaN equal to NaN, order for
`eval_ordered`, an error for `eval_fail`).

The files are Prometheus' (Apache 2.0), not ours: they are read from $PROMQLTEST_DIR, by default
~/.cache/metrics_server/promqltest-v2.42.0/promql/testdata (`git archive v2.42.0 promql/testdata` of
prometheus/prometheus); without them the test skips, saying so.
"""
import math
import os
import re
from pathlib import Path

import numpy as np
import promql_parser
import pytest

from metrics_server import promql
from metrics_server.protocols.prometheus import STALE_NAN_BITS

FOLDER = Path(os.environ.get("PROMQLTEST_DIR", Path.home() / ".cache" / "metrics_server" / "promqltest-v2.42.0"
                             / "promql" / "testdata"))
STALE = float(np.uint64(STALE_NAN_BITS).view(np.float64))
NUMBER = r"[-+]?(?:Inf|NaN|0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
SEQUENCE = re.compile(rf"(?P<a>{NUMBER})(?:(?P<op>[-+])(?P<b>{NUMBER}))?x(?P<n>\d+)")
SERIES = re.compile(r'\s*(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)?\s*(?P<labels>\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})?\s*(?P<rest>.*)')
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')
EVAL = re.compile(r"eval(?P<kind>_fail|_ordered)? instant at (?P<at>\S+) (?P<expr>.+)")


def number(text: str) -> float:
    return float(int(text, 16)) if text.lower().startswith(("0x", "-0x", "+0x")) else float(text)


def ms(duration: str) -> int:
    if re.fullmatch(r"0[a-z]*", duration):
        return 0
    return int(promql_parser.parse_duration(duration).total_seconds() * 1000)


def series_of(line: str) -> tuple[dict, str]:
    """A series description: its labels (the name as __name__) and the rest of the line."""
    found = SERIES.fullmatch(line)
    labels = {k: bytes(v, "utf-8").decode("unicode_escape") for k, v in LABEL.findall(found["labels"] or "")}
    if found["name"]:
        labels["__name__"] = found["name"]
    return labels, found["rest"]


def values_of(text: str) -> list[float | None]:
    """A load line's values: numbers, `stale`, `_` (none), `a+bxn` (n + 1 values), `axn`, `_xn`."""
    out: list[float | None] = []
    for token in text.split():
        if token == "_":
            out.append(None)
        elif token.startswith("_x"):
            out += [None] * int(token[2:])
        elif token == "stale":
            out.append(STALE)
        elif found := SEQUENCE.fullmatch(token):
            step = 0.0 if not found["op"] else number(found["b"]) * (1 if found["op"] == "+" else -1)
            out += [number(found["a"]) + step * i for i in range(int(found["n"]) + 1)]
        else:
            out.append(number(token))
    return out


def cases(path: Path):
    """(kind, at ms, expr, expected lines, line number) of each evaluation, with the samples loaded before it."""
    lines = path.read_text().splitlines()
    loaded: dict[tuple, tuple[dict, dict]] = {}
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if line.startswith("load "):
            interval = ms(line.split()[1])
            while i < len(lines) and lines[i].strip() and not lines[i].startswith(("load", "eval", "clear")):
                labels, rest = series_of(lines[i])
                samples = {n * interval: v for n, v in enumerate(values_of(rest)) if v is not None}
                loaded.setdefault(tuple(sorted(labels.items())), (labels, {}))[1].update(samples)  # a repeat wins
                i += 1
        elif line == "clear":
            loaded = {}
        elif found := EVAL.fullmatch(line):
            expected = []
            start = i
            while i < len(lines) and lines[i].strip() and not lines[i].lstrip().startswith("#"):
                expected.append(lines[i].strip())
                i += 1
            yield found["kind"], ms(found["at"]), found["expr"], expected, start, dict(loaded)


def source_over(loaded: dict):
    def source(matchers, start_ms, end_ms):
        out = []
        for labels, samples in loaded.values():
            if all(m.matches(labels.get(m.name, "")) for m in matchers):
                samples = sorted(samples.items())
                times = np.array([t for t, _ in samples], dtype=np.int64)
                values = np.array([v for _, v in samples], dtype=float)
                keep = (times >= start_ms) & (times <= end_ms)
                out.append(promql.RawSeries(labels, times[keep], values[keep]))
        return out
    return source


def almost_equal(a: float, b: float) -> bool:
    """Prometheus' test comparison: NaN equals NaN, else equal to 1e-6 relative."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if a == b:
        return True
    diff = abs(a - b)
    if a == 0 or b == 0 or diff < 2.2250738585072014e-308:
        return diff < 1e-6 * 2.2250738585072014e-308
    return diff / (abs(a) + abs(b)) < 1e-6


def check(kind, at_ms, expr, expected, loaded) -> str | None:
    """None when our answer is the expected one, else what differs."""
    try:
        result = promql.instant_query(expr, at_ms, source_over(loaded))
    except promql.PromQLError as error:
        return None if kind == "_fail" else f"error: {error}"
    if kind == "_fail":
        return "no error"
    if result.result_type == "scalar":
        got = [((), float(result.series[0][2][0]))]
    else:
        got = [(tuple(sorted(labels.items())), [float(v) for v in values]) for labels, _, values in result.series]
        got = [(labels, values[0] if result.result_type == "vector" else values) for labels, values in got]
    want = []
    for line in expected:
        try:
            want.append(((), number(line)))
            continue
        except ValueError:
            pass
        labels, rest = series_of(line)
        values = [number(v) for v in rest.split()]
        want.append((tuple(sorted(labels.items())), values[0] if len(values) == 1 else values))
    if kind == "_ordered" and [labels for labels, _ in got] != [labels for labels, _ in want]:
        return f"order: want {[dict(labels) for labels, _ in want]}, got {[dict(labels) for labels, _ in got]}"
    have = dict(got)
    if set(have) != {labels for labels, _ in want} or len(got) != len(want):
        return f"series: want {[dict(labels) for labels, _ in want]}, got {[dict(labels) for labels, _ in got]}"
    for labels, value in want:
        pairs = zip(value, have[labels]) if isinstance(value, list) else [(value, have[labels])]
        if not all(almost_equal(float(a), float(b)) for a, b in pairs):
            return f"{dict(labels)}: want {value}, got {have[labels]}"
    return None


def test_prometheus_own_engine_tests_pass():
    if not FOLDER.is_dir():
        pytest.skip(f"Prometheus' promql/testdata of v2.42.0 is not at {FOLDER} (set PROMQLTEST_DIR)")
    failures, total = [], 0
    for path in sorted(FOLDER.glob("*.test")):
        for kind, at_ms, expr, expected, line, loaded in cases(path):
            total += 1
            problem = check(kind, at_ms, expr, expected, loaded)
            if problem is None:
                continue
            failures.append(f"{path.name}:{line} {expr}: {problem}")
    print(f"promqltest v2.42.0: {total - len(failures)} / {total} passed")
    assert not failures, f"{len(failures)} of {total} failed:\n" + "\n".join(failures)
