"""Bounded work (issue 10): what one request may cost, checked before the work, and the deadline after which a
query's work stops. A limit answers 422 saying what to narrow, or 503 with Retry-After when time ran out; it
never drops data silently. The deadline is a context variable, so the storage layer checks it between slices of
its reads without every signature carrying it."""
import contextlib
import contextvars
import time
from collections.abc import Iterator
from dataclasses import dataclass

from metrics_server.errors import ApiError

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("query_deadline", default=None)


class TooCostly(ApiError):
    """A request whose cost was known, before any work, to exceed a limit; the message names how to narrow it."""

    status = 422


class QueryTimeout(ApiError):
    """A query that ran into its deadline: its work stopped there."""

    status = 503
    retry_after = 30


@dataclass(frozen=True)
class QueryLimits:
    """The budget of one /api/query (and of the PromQL API, which shares the engine)."""

    max_series: int = 1_000
    max_cells: int = 2_000_000
    max_reads: int = 50_000
    timeout: float = 30.0

    @classmethod
    def of(cls, config: dict) -> "QueryLimits":
        return cls(config["max_query_series"], config["max_query_cells"], config["max_query_reads"],
                   config["query_timeout"])

    def check_lines(self, where: str, lines: int, series: int) -> None:
        """Refuse an answer with more lines than a chart can show: ask for aggregation across series."""
        if lines > self.max_series:
            raise TooCostly(f"{where}: {lines} series would be returned (at most {self.max_series}, "
                            f"max_query_series); aggregate across them with across=sum|avg|min|max|count "
                            f"(and group_by=<label> for one line per value), or narrow the selector", 422,
                            field="metric", series=series, limit=self.max_series)

    def check_cells(self, lines: int, bins: int, what: str = "series") -> None:
        """Refuse an answer of more values than max_query_cells (lines × bins)."""
        if lines * bins > self.max_cells:
            raise TooCostly(f"range: {lines} {what} × {bins} bins = {lines * bins} values (at most {self.max_cells}, "
                            f"max_query_cells); shorten the range, coarsen granularity or width, or aggregate "
                            f"across series", 422, field="range", cells=lines * bins, limit=self.max_cells)

    def check_reads(self, reads: int) -> None:
        """Refuse a query that would need more Cassandra partition reads than max_query_reads."""
        if reads > self.max_reads:
            raise TooCostly(f"range: the query would read {reads} Cassandra partitions (at most {self.max_reads}, "
                            f"max_query_reads); shorten the range or select fewer series", 422, field="range",
                            reads=reads, limit=self.max_reads)


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Work started inside stops with QueryTimeout once `seconds` have passed (an outer, earlier deadline wins)."""
    now = time.monotonic()
    outer = _DEADLINE.get()
    token = _DEADLINE.set(min(outer, now + seconds) if outer is not None else now + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def check_deadline() -> None:
    """Raise QueryTimeout when the current work's deadline has passed (a no-op outside a deadline)."""
    at = _DEADLINE.get()
    if at is not None and time.monotonic() > at:
        raise QueryTimeout("query: stopped at its deadline (query_timeout); shorten the range or select fewer "
                           "series, or aggregate across them", 503)


def has_deadline() -> bool:
    return _DEADLINE.get() is not None
