"""Prometheus durations ('1h30m', '90s', '500ms', '2w'), parsed to milliseconds and printed back."""
import re

UNITS_MS = {"y": 365 * 86_400_000, "w": 7 * 86_400_000, "d": 86_400_000, "h": 3_600_000, "m": 60_000,
            "s": 1000, "ms": 1}
DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")


def parse_duration_ms(text: str) -> int:
    """Milliseconds of a Prometheus duration; units in decreasing order, each at most once; '0' is zero."""
    if text == "0":
        return 0
    match = DURATION.match(text)
    if not text or not match:
        raise ValueError(f"not a valid duration string: {text!r} (expected e.g. 30s, 5m, 1h30m)")
    return sum(int(count) * unit for count, unit in zip(match.groups(), UNITS_MS.values()) if count)


def format_duration(ms: int) -> str:
    """The shortest Prometheus spelling of a duration in milliseconds ('1h30m', '0s')."""
    if ms == 0:
        return "0s"
    parts = []
    for unit, size in UNITS_MS.items():
        count, ms = divmod(ms, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
