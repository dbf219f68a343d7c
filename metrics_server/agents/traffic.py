"""Parsed lines as per-second bins keyed by the log's own timestamps, and the metric points each bin becomes.

A bin holds totals (requests per section, method and status class; bytes and request-time buckets per section;
malformed lines), never deltas: a bin that gets more lines later is sent again whole, and since the server keys a
point by metric + series + timestamp, sending a bin twice stores it once. That is what makes a resend after an
outage, or a replay after a restart from the state file, count every line exactly once.
"""
import bisect
import math
from collections import Counter
from dataclasses import dataclass, field
from operator import itemgetter

from metrics_server.agents.logformat import LogFormat, TimeCache, first_malformed

METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE", "-"))
# Request-time buckets in seconds (Prometheus' defaults), stored per bucket, not cumulative, as the API wants.
TIME_BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, math.inf)
OTHER = "(other)"


@dataclass
class Bin:
    """Totals of the lines whose timestamp falls in one bin."""

    requests: Counter = field(default_factory=Counter)  # (section, method, status class) -> lines
    bytes: Counter = field(default_factory=Counter)  # section -> bytes sent
    times: dict = field(default_factory=dict)  # section -> request-time bucket counts
    errors: int = 0

    @property
    def hits(self) -> int:
        return sum(self.requests.values())

    def to_json(self) -> dict:
        return {"requests": [[*key, n] for key, n in self.requests.items()], "bytes": dict(self.bytes),
                "times": self.times, "errors": self.errors}

    @classmethod
    def from_json(cls, data: dict) -> "Bin":
        return cls(Counter({tuple(row[:3]): row[3] for row in data["requests"]}), Counter(data["bytes"]),
                   data["times"], data["errors"])


class Traffic:
    """Bins of one log, filled chunk by chunk; remembers which bins changed since they were last taken."""

    def __init__(self, log_format: LogFormat, resolution: int = 1, max_sections: int = 200):
        self.format, self.resolution, self.max_sections = log_format, resolution, max_sections
        self.bins: dict[int, Bin] = {}
        self.dirty: set[int] = set()
        self.sections: set[str] = set()
        self.newest = 0  # the newest log timestamp seen (epoch s)
        self.last_malformed: bytes | None = None
        self.lines = self.malformed = 0
        self.epoch = TimeCache(log_format.time_kind)
        index = log_format.index
        self.key_fields = [name for name in ("time", "section", "method", "status") if name in index]
        self.key_of = itemgetter(*(index[name] for name in self.key_fields))
        self.bytes_of = itemgetter(index["time"], index.get("section", index["time"]), index["bytes"]) \
            if "bytes" in index else None
        self.time_of = itemgetter(index["time"], index.get("section", index["time"]), index["request_time"]) \
            if "request_time" in index else None
        self.has_section = "section" in index

    def bin(self, epoch: int) -> Bin:
        start = epoch - epoch % self.resolution
        self.dirty.add(start)
        found = self.bins.get(start)
        if found is None:
            found = self.bins[start] = Bin()
        return found

    def section(self, raw: bytes) -> str:
        """The path up to its second slash; a new one beyond --max-sections is counted as (other)."""
        if not raw:
            return OTHER
        name = raw.decode("utf-8", "replace")
        if name not in self.sections:
            if len(self.sections) >= self.max_sections:
                return OTHER
            self.sections.add(name)
        return name

    def add(self, chunk: bytes, wall_now: float) -> int:
        """Count a chunk of whole lines; returns how many were malformed (counted in the bin of the chunk's last
        good line, or of the wall clock when it had none)."""
        rows = self.format.regex.findall(chunk)
        lines = chunk.count(b"\n")
        newest = self.newest
        for key, n in Counter(map(self.key_of, rows)).items():
            fields = dict(zip(self.key_fields, key))
            epoch = self.epoch(fields["time"])
            newest = max(newest, epoch)
            method = fields.get("method", b"-").decode() or "-"
            status = fields["status"].decode() + "xx"
            self.bin(epoch).requests[(self.section(fields.get("section", b"")),
                                      method if method in METHODS else "OTHER", status)] += n
        if self.bytes_of is not None:
            for (raw_time, raw_section, raw_bytes), n in Counter(map(self.bytes_of, rows)).items():
                if raw_bytes != b"-":
                    section = self.section(raw_section if self.has_section else b"")
                    self.bin(self.epoch(raw_time)).bytes[section] += n * int(raw_bytes)
        if self.time_of is not None:
            for (raw_time, raw_section, raw_seconds), n in Counter(map(self.time_of, rows)).items():
                if raw_seconds != b"-":
                    section = self.section(raw_section if self.has_section else b"")
                    buckets = self.bin(self.epoch(raw_time)).times.setdefault(section, [0] * len(TIME_BOUNDS))
                    buckets[bisect.bisect_left(TIME_BOUNDS, float(raw_seconds))] += n
        errors = lines - len(rows)
        if errors:
            self.bin(newest if rows else int(wall_now)).errors += errors
            self.last_malformed = first_malformed(self.format, chunk)
        self.newest = newest
        self.lines += lines
        self.malformed += errors
        return errors

    def take_dirty(self) -> dict[int, Bin]:
        """The bins changed since the last call (to be sent whole)."""
        taken = {start: self.bins[start] for start in sorted(self.dirty)}
        self.dirty.clear()
        return taken

    def forget_before(self, start: int) -> None:
        """Drop bins older than `start` that have been taken (memory stays bounded on an endless log)."""
        for old in [s for s in self.bins if s < start and s not in self.dirty]:
            del self.bins[old]

    def window(self, start: float, end: float) -> list[tuple[int, Bin]]:
        """The bins whose start lies in [start, end)."""
        return sorted((s, b) for s, b in self.bins.items() if start <= s < end)

    def to_json(self) -> dict:
        return {"bins": {str(s): b.to_json() for s, b in self.bins.items()}, "dirty": sorted(self.dirty),
                "sections": sorted(self.sections), "newest": self.newest, "lines": self.lines,
                "malformed": self.malformed}

    def restore(self, data: dict) -> None:
        self.bins = {int(s): Bin.from_json(b) for s, b in data["bins"].items()}
        self.dirty = set(data["dirty"])
        self.sections = set(data["sections"])
        self.newest, self.lines, self.malformed = data["newest"], data["lines"], data["malformed"]


def points(log: str, bins: dict[int, Bin]) -> list[tuple[str, tuple, int, object]]:
    """Each bin's totals as (metric, labels, timestamp s, value or buckets) points."""
    out = []
    for start, b in bins.items():
        for (section, method, status), n in b.requests.items():
            out.append(("http_requests", (("log", log), ("section", section), ("method", method),
                                          ("status_class", status)), start, n))
        for section, n in b.bytes.items():
            out.append(("http_response_bytes", (("log", log), ("section", section)), start, n))
        for section, counts in b.times.items():
            out.append(("http_request_seconds", (("log", log), ("section", section)), start,
                        {("+inf" if math.isinf(bound) else f"{bound:g}"): n for bound, n in zip(TIME_BOUNDS, counts)}))
        if b.errors:
            out.append(("tail_parse_errors", (("log", log),), start, b.errors))
    return out
