"""Metric selectors of /api/query: `cpu` or `cpu{host="a",host="b",dc="eu"}` (a repeated key means OR)."""
import re

from metrics_server.model import NAME_PATTERN

SELECTOR = re.compile(r"^\s*(?P<name>[A-Za-z_][A-Za-z0-9_:.\-]*)\s*(?:\{(?P<filters>.*)\})?\s*$", re.S)
FILTER = re.compile(r'\s*(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*"(?P<value>(?:[^"\\]|\\.)*)"\s*(?:,|$)')


def parse_selector(text: str) -> tuple[str, dict[str, list[str]]]:
    """(metric name, {label key: accepted values}); ValueError says what is wrong."""
    match = SELECTOR.match(text)
    if not match or not re.match(NAME_PATTERN, match["name"]):
        raise ValueError(f'expected a metric name, optionally with filters like cpu{{host="a"}}; got {text!r}')
    filters: dict[str, list[str]] = {}
    body = (match["filters"] or "").strip()
    position = 0
    while position < len(body):
        item = FILTER.match(body, position)
        if not item or item.end() == position:
            raise ValueError(f'expected key="value" filters separated by commas in {text!r}')
        value = re.sub(r"\\(.)", r"\1", item["value"])
        filters.setdefault(item["key"], []).append(value)
        position = item.end()
    return match["name"], filters
