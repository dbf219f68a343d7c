"""Bin edges for a time range (fixed steps, calendar days in a time zone, steps fitted to a chart width)."""
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

SECOND, MINUTE, HOUR, DAY = 1_000, 60_000, 3_600_000, 86_400_000
GRANULARITIES = {"minute": MINUTE, "hour": HOUR, "day": DAY}
AUTO_MAX_BINS = 1_500
MAX_BINS = 100_000
MIN_WIDTH = 10
NICE_STEPS = (
    ("1s", SECOND), ("2s", 2 * SECOND), ("5s", 5 * SECOND), ("10s", 10 * SECOND), ("15s", 15 * SECOND),
    ("30s", 30 * SECOND), ("1m", MINUTE), ("2m", 2 * MINUTE), ("5m", 5 * MINUTE), ("10m", 10 * MINUTE),
    ("15m", 15 * MINUTE), ("30m", 30 * MINUTE), ("1h", HOUR), ("2h", 2 * HOUR), ("3h", 3 * HOUR),
    ("6h", 6 * HOUR), ("12h", 12 * HOUR), ("1d", DAY), ("2d", 2 * DAY), ("7d", 7 * DAY),
)


@dataclass(frozen=True)
class Bins:
    """Ascending edges in epoch ms; bin i is [edges[i], edges[i+1]), step_ms None when lengths vary (DST days)."""

    edges: np.ndarray
    step_ms: int | None
    name: str

    def __post_init__(self):
        """Keep the edges as a read-only int64 copy, so a frozen Bins cannot change under its users."""
        edges = np.array(self.edges, dtype=np.int64)
        edges.flags.writeable = False
        object.__setattr__(self, "edges", edges)

    def __eq__(self, other):
        """Equal when edges, step and name are (numpy arrays do not compare to one bool by themselves)."""
        return (isinstance(other, Bins) and np.array_equal(self.edges, other.edges)
                and (self.step_ms, self.name) == (other.step_ms, other.name))

    @property
    def starts(self) -> np.ndarray:
        """Each bin's start, the timestamp a chart plots the bin at."""
        return self.edges[:-1]

    def __len__(self) -> int:
        """The number of bins, one fewer than the edges."""
        return len(self.edges) - 1


def make_bins(start_ms: int, end_ms: int, *, granularity: str | None = None, width: int | None = None,
              tz: str = "UTC") -> Bins:
    """Bins covering [start_ms, end_ms): by granularity (minute/hour/day/auto) or fitted to a chart width."""
    start_ms, end_ms = int(start_ms), int(end_ms)
    if start_ms >= end_ms:
        raise ValueError(f"start must be before end; got start={start_ms} end={end_ms}")
    if (granularity is None) == (width is None):
        raise ValueError("give exactly one of granularity or width")
    zone = _zone(tz)
    if width is not None:
        return _width_bins(start_ms, end_ms, width)
    if granularity == "auto":
        granularity = next((name for name in ("minute", "hour")
                            if _count(start_ms, end_ms, GRANULARITIES[name]) <= AUTO_MAX_BINS), "day")
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of minute, hour, day, auto; got {granularity!r}")
    if granularity == "day" and tz != "UTC":
        return _zone_days(start_ms, end_ms, zone)
    return _fixed(start_ms, end_ms, GRANULARITIES[granularity], granularity)


def _count(start_ms: int, end_ms: int, step: int) -> int:
    """How many epoch-aligned bins of this step cover the range: from the one holding start to the one holding end-1."""
    return (end_ms - 1) // step - start_ms // step + 1


def _guard(count: int) -> None:
    """Refuse ranges that would need more bins than one response may carry."""
    if count > MAX_BINS:
        raise ValueError(f"too many bins ({count}); at most {MAX_BINS}: narrow the range or coarsen the step")


def _fixed(start_ms: int, end_ms: int, step: int, name: str) -> Bins:
    """Bins of one step aligned to epoch multiples of it (UTC minutes, hours, midnights)."""
    count = _count(start_ms, end_ms, step)
    _guard(count)
    first = start_ms // step * step
    return Bins(first + step * np.arange(count + 1, dtype=np.int64), step, name)


def _width_bins(start_ms: int, end_ms: int, width) -> Bins:
    """The finest nice step giving at most 0.8 bins per pixel, so 5 values per bin stay under 4 per pixel."""
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < MIN_WIDTH:
        raise ValueError(f"width must be an integer number of pixels >= {MIN_WIDTH}; got {width!r}")
    most = int(width) * 4 // 5
    for name, step in NICE_STEPS:
        if _count(start_ms, end_ms, step) <= most:
            return _fixed(start_ms, end_ms, step, name)
    weeks = 2
    while _count(start_ms, end_ms, weeks * 7 * DAY) > most:
        weeks *= 2
    return _fixed(start_ms, end_ms, weeks * 7 * DAY, f"{weeks * 7}d")


def _zone(tz: str) -> ZoneInfo:
    """The IANA zone by name, or a ValueError a client can act on."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"unknown time zone {tz!r}; expected an IANA name like Europe/Berlin") from None


def _zone_days(start_ms: int, end_ms: int, zone: ZoneInfo) -> Bins:
    """Calendar days in a zone: each edge is the first instant of a local date, so DST days last 23 or 25 hours.

    A date the zone skipped altogether (Pacific/Apia, 2011-12-30) gets no bin.
    """
    ends = pd.to_datetime([start_ms, end_ms - 1], unit="ms", utc=True).tz_convert(zone).tz_localize(None).normalize()
    _guard((ends[1] - ends[0]).days + 1)
    dates = pd.date_range(ends[0], ends[1] + pd.Timedelta(days=1), freq="D")
    midnights = dates.tz_localize(zone, ambiguous=np.ones(len(dates), dtype=bool), nonexistent="shift_forward")
    edges = np.minimum.accumulate(midnights.as_unit("ms").asi8[::-1])[::-1]
    return Bins(np.unique(edges), None, "day")


def whole_hours(bins: Bins) -> bool:
    """Whether every bin is made of whole UTC hours, so the stored hourly rollups nest inside the bins."""
    return not np.any(bins.edges % HOUR)


def bin_index(ts_ms, edges) -> np.ndarray:
    """The bin of each timestamp, -1 for those outside [edges[0], edges[-1]), so one mask drops them."""
    edges = np.asarray(edges, dtype=np.int64)
    index = np.searchsorted(edges, np.asarray(ts_ms, dtype=np.int64), side="right") - 1
    index[index >= len(edges) - 1] = -1
    return index

