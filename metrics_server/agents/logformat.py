"""Access-log formats as one compiled bytes regex, and a whole chunk of lines parsed with a single `findall`.

A format is written in nginx's `log_format` syntax (`$remote_addr - $remote_user [$time_local] "$request" ...`);
Common, Combined and nginx's default `combined` are presets of it. Only the fields the monitor needs are captured
(time, method, section, status class, bytes, request time); every other variable matches a token (or a quoted
string's content) without capturing. Parsing a chunk with one `findall` over MULTILINE `^...$` keeps the loop in C:
a line that does not match the whole format is simply not returned, so malformed lines = lines - matches, and
malformed lines are never fatal. Patterns never cross a newline ([^ \\n], not \\S), so one match is one line.
"""
import calendar
import re
from dataclasses import dataclass

PRESETS = {
    # Apache's %h %l %u %t "%r" %>s %b; nginx writes "-" for %l, which the token pattern accepts.
    "common": '$remote_addr $ident $remote_user [$time_local] "$request" $status $body_bytes_sent',
    "combined": '$remote_addr $ident $remote_user [$time_local] "$request" $status $body_bytes_sent '
                '"$http_referer" "$http_user_agent"',
    # nginx's built-in `combined` (the literal "-" instead of an ident field).
    "nginx": '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
             '"$http_referer" "$http_user_agent"',
    # metrics_server's own nginx (nginx/nginx.conf.template): combined plus the request time in seconds.
    "metrics_server": '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
                      '"$http_referer" "$http_user_agent" $request_time',
}

TOKEN = rb"[^ \n]*"
QUOTED = rb'[^"\\\n]*(?:\\.[^"\\\n]*)*'  # a quoted string's content, with backslash escapes (\" in Apache)
# Captured variables: (what the monitor calls it, its pattern).
CAPTURES = {
    "time_local": ("time", rb"([0-9]{2}/[A-Za-z]{3}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4})"),
    "time_iso8601": ("time", rb"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:Z|[+-][0-9]{2}:?[0-9]{2}))"),
    "msec": ("time", rb"([0-9]{9,11})\.[0-9]+"),
    "status": ("status", rb"([1-5])[0-9]{2}"),
    "body_bytes_sent": ("bytes", rb"([0-9]+|-)"),
    "bytes_sent": ("bytes", rb"([0-9]+|-)"),
    "request_time": ("request_time", rb"([0-9]+(?:\.[0-9]+)?|-)"),
    "request_method": ("method", rb"([A-Z]+|-)"),
    "request_uri": ("section", rb"(/[^/ ?#\"\n]*)?[^ \"\n]*"),
    "uri": ("section", rb"(/[^/ ?#\"\n]*)?[^ \"\n]*"),
}
# "$request" is the request line: method, target (the section is its path up to the second slash), protocol.
# nginx logs "-" or garbage for requests without a valid line (a 400); those still count, as method "-".
REQUEST = (("method", "section"), rb'(?:([A-Z]+) (/[^/ ?#"\\\n]*)?' + QUOTED + rb"|" + QUOTED + rb")")
VARIABLE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
FIELDS = ("time", "method", "section", "status", "bytes", "request_time")
MONTHS = {name.encode(): number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}


class FormatError(ValueError):
    """A log format the monitor cannot use (names the problem)."""


@dataclass(frozen=True)
class LogFormat:
    """A compiled format: the regex and, for each captured field, its group's index in a `findall` row."""

    text: str
    regex: re.Pattern
    index: dict[str, int]
    time_kind: str

    @property
    def has_request_time(self) -> bool:
        return "request_time" in self.index


def compile_format(spec: str) -> LogFormat:
    """A preset's name or an nginx `log_format` string, compiled; it must contain a time and a status."""
    text = PRESETS.get(spec, spec)
    pattern, groups, time_kind, pos = [rb"^"], [], "", 0
    quoted = False
    for match in VARIABLE.finditer(text):
        literal = text[pos:match.start()]
        quoted ^= literal.count('"') % 2 == 1
        pattern.append(re.escape(literal.encode()))
        name, pos = match.group(1), match.end()
        if name == "request":
            groups.extend(REQUEST[0])
            pattern.append(REQUEST[1])
        elif name in CAPTURES:
            field, regex = CAPTURES[name]
            if field in groups:
                raise FormatError(f"format: ${name} repeats the {field} field")
            if field == "time":
                time_kind = name
            groups.append(field)
            pattern.append(regex)
        else:
            pattern.append(QUOTED if quoted else TOKEN)
    pattern.append(re.escape(text[pos:].encode()))
    # Fields a server appends after the format (nginx's "$http_x_forwarded_for", ...) are allowed and ignored.
    pattern.append(rb"(?:[ \t][^\n]*)?\r?$")
    for needed in ("time", "status"):
        if needed not in groups:
            raise FormatError(f"format: needs a {needed} variable ($time_local, $time_iso8601 or $msec; $status); "
                              f"got {text!r}")
    index = {field: groups.index(field) for field in FIELDS if field in groups}
    return LogFormat(text=text, regex=re.compile(b"".join(pattern), re.MULTILINE), index=index, time_kind=time_kind)


def epoch_of(raw: bytes, kind: str) -> int:
    """Seconds since the epoch of a captured time (`10/Oct/2000:13:55:36 -0700`, ISO 8601, or nginx's $msec)."""
    if kind == "msec":
        return int(raw)
    if kind == "time_local":
        day, month, year = int(raw[0:2]), MONTHS[raw[3:6]], int(raw[7:11])
        hour, minute, second, zone = int(raw[12:14]), int(raw[15:17]), int(raw[18:20]), raw[21:26]
    else:
        day, month, year = int(raw[8:10]), int(raw[5:7]), int(raw[0:4])
        hour, minute, second, zone = int(raw[11:13]), int(raw[14:16]), int(raw[17:19]), raw[19:].replace(b":", b"")
    offset = 0 if zone == b"Z" else (1 if zone[:1] == b"+" else -1) * (int(zone[1:3]) * 3600 + int(zone[3:5]) * 60)
    return calendar.timegm((year, month, day, hour, minute, second)) - offset


class TimeCache:
    """Captured time → epoch seconds, remembered: a busy log repeats each second's text thousands of times, and
    parsing it every time costs more than the rest of the line (uncached strptime: ~16k lines/s)."""

    def __init__(self, kind: str, limit: int = 4096):
        self.kind, self.limit, self.seen = kind, limit, {}

    def __call__(self, raw: bytes) -> int:
        epoch = self.seen.get(raw)
        if epoch is None:
            if len(self.seen) >= self.limit:
                self.seen.clear()
            epoch = self.seen[raw] = epoch_of(raw, self.kind)
        return epoch


def first_malformed(log_format: LogFormat, chunk: bytes) -> bytes | None:
    """The first line of a chunk that does not match (the slow path, only for chunks known to hold one)."""
    for line in chunk.split(b"\n")[:chunk.count(b"\n")]:
        if not log_format.regex.match(line):
            return line
    return None
