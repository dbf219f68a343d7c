"""InfluxDB line protocol (1.x `/write`, 2.x `/api/v2/write`): `measurement[,tag=v...] field=v[,...] [time]`.

The grammar is influxdb's models/points.go: blank lines, leading whitespace and `#` comments are skipped;
the measurement escapes `\\,` and `\\ `; tag keys, tag values and field keys also `\\=`; string fields are
double-quoted with `\\"` and `\\\\`. Each field becomes the metric `<measurement>_<field>` with the tags as
labels, as vmagent names them; integers and booleans (1/0) are stored as numbers.
"""
import re

from metrics_server.errors import ApiError
from metrics_server.ingest.samples import BadSample, Samples

# Epoch units per `precision` (1.x spells n, u, ms, s, m, h; 2.x ns, us, ms, s), as a divisor or multiplier
# giving milliseconds, our resolution: finer digits are truncated.
TO_MS = {"n": (1_000_000, 1), "ns": (1_000_000, 1), "u": (1_000, 1), "us": (1_000, 1), "ms": (1, 1),
         "s": (1, 1_000), "m": (1, 60_000), "h": (1, 3_600_000)}
TRUE = frozenset(("t", "T", "true", "True", "TRUE"))
FALSE = frozenset(("f", "F", "false", "False", "FALSE"))
INT64 = 1 << 63
# A line: unquoted characters but newline, escapes, quoted strings (the alternatives start with different
# characters, so the match is linear in the line's length, and runs in C rather than a loop over characters).
LINE = re.compile(r'(?:[^"\n\\]|\\.?|"(?:[^"\\]|\\.?)*"?)*', re.DOTALL)


def lines(text: str):
    """(line number, line) of the body's points, one at a time, so a limit stops the parse where it is passed: a
    newline inside a quoted string field (or escaped) does not end a line, an unterminated quote runs to the end."""
    number, position = 1, 0
    while position <= len(text):
        line = LINE.match(text, position).group()
        yield number, line
        number += line.count("\n") + 1
        position += len(line) + 1


def split(text: str, separator: str, limit: int = -1) -> list[str]:
    """`text` split at unescaped separators outside double quotes (escapes kept, for `unescape`)."""
    if "\\" not in text and '"' not in text:  # most lines: str.split's C loop, not Python's over characters
        return text.split(separator, limit)
    parts, start, quoted, escaped = [], 0, False, False
    for position, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted and len(parts) != limit:
            parts.append(text[start:position])
            start = position + 1
    parts.append(text[start:])
    return parts


def unescape(text: str, specials: str) -> str:
    """`\\c` as c for each special character c; any other backslash stays."""
    if "\\" not in text:
        return text
    for char in specials:
        text = text.replace("\\" + char, char)
    return text


def field_value(text: str) -> float | str:
    """A field's value: float, integer (`12i`), unsigned (`12u`), boolean, or a quoted string."""
    if text[:1] == '"':
        if len(text) < 2 or text[-1] != '"':
            raise ValueError("unterminated string")
        return text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if text in TRUE:
        return 1.0
    if text in FALSE:
        return 0.0
    if text[-1:] in ("i", "u"):
        number = int(text[:-1])
        if text[-1] == "u" and number < 0:
            raise ValueError("an unsigned integer cannot be negative")
        return float(number)
    value = float(text)
    if text.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        raise ValueError("not a finite number")
    return value


def timestamp_ms(text: str, precision: str, now_ms: int) -> int:
    """A point's time in epoch ms, now when it has none."""
    if not text:
        return now_ms
    stamp = int(text)
    if not -INT64 <= stamp < INT64:
        raise ValueError("out of the int64 range")
    divisor, multiplier = TO_MS[precision]
    return stamp // divisor * multiplier


def parse(body: str, precision: str, now_ms: int, extra_labels: dict[str, str] | None = None,
          max_points: int | None = None) -> Samples:
    """Every point of a line-protocol body as Samples; the first bad line is a 400 naming it and its field, and
    so is the point past `max_points`, as soon as it is read (a 32 MB body of small lines once took 20 s of CPU
    and 877 MB before the limit was checked after parsing)."""
    if precision not in TO_MS:
        raise ApiError(f"precision: expected one of {', '.join(TO_MS)}, got {precision!r}", 400, field="precision")
    extra = extra_labels or {}
    out = Samples(limit=max_points)
    for number, raw in lines(body):
        line = raw.lstrip(" \t\r").rstrip("\r")
        if not line or line.startswith("#"):
            continue
        where = f"line {number}"
        head, *rest = split(line, " ", 2)
        parts = split(head, ",")
        measurement = unescape(parts[0], ", ")
        if not measurement:
            raise BadSample(where, "measurement", "missing")
        labels = dict(extra)
        for tag in parts[1:]:
            key, *value = split(tag, "=", 1)
            if not value or not key or not value[0]:
                raise BadSample(where, f"tags.{unescape(key, ',= ')}", f"expected key=value, got {tag!r}")
            labels[unescape(key, ",= ")] = unescape(value[0], ",= ")
        if not rest or not rest[0]:
            raise BadSample(where, "fields", "missing: a point needs at least one field (key=value)")
        try:
            ts = timestamp_ms(rest[1].strip() if len(rest) > 1 else "", precision, now_ms)
        except ValueError as error:
            raise BadSample(where, "timestamp", f"expected an integer ({precision}): {error}") from None
        for item in split(rest[0], ","):
            key, *text = split(item, "=", 1)
            name = unescape(key, ",= ")
            if not key or not text or not text[0]:
                raise BadSample(where, f"fields.{name}", f"expected key=value, got {item!r}")
            try:
                value = field_value(text[0])
            except ValueError as error:
                raise BadSample(where, f"fields.{name}", f"{text[0]!r} is not a field value: {error}") from None
            if isinstance(value, str):
                raise BadSample(where, f"fields.{name}", "string fields are not stored: metrics are numbers "
                                                         "(send it as a tag, or as a number)")
            out.add(f"{measurement}_{name}", labels, where, [ts], [value])
            out.types.setdefault(f"{measurement}_{name}", "gauge")
    return out
