"""Graphite plaintext: `path value timestamp` lines (carbon's lib/carbon/protocols.py), `-1` for now, tags as
`path;key=value` (graphite-web docs/tags.rst). A path is the metric's name as it is (dots kept, as
VictoriaMetrics keeps them) unless a template maps some of its nodes to labels.

Templates (the `graphite_templates` setting) follow InfluxDB's graphite input: `[filter ]template`. The
filter, when given, is a path prefix whose nodes may be `*`; the first template whose filter matches applies.
Each template node says what the path's node at that position becomes: `name` joins the metric name, `name*`
this node and every later one join it, an empty node drops it, any other word is a label key taking the
node as its value. Nodes past the template's end join the name. Example: `collectd.* .host.name*` maps
`collectd.web-1.load.load.shortterm` to `load.load.shortterm{host="web-1"}`.
"""
import math
import re
from dataclasses import dataclass

from metrics_server.model import LABEL_KEY_PATTERN

_label_key_ok = re.compile(LABEL_KEY_PATTERN).match


@dataclass(frozen=True)
class Template:
    """A parsed template: the filter's nodes (empty: every path) and the template's nodes."""

    filter: tuple[str, ...]
    nodes: tuple[str, ...]

    def matches(self, path: list[str]) -> bool:
        return len(path) >= len(self.filter) and all(want in ("*", node) for want, node in zip(self.filter, path))

    def apply(self, path: list[str]) -> tuple[str, dict[str, str]]:
        """(metric name, labels) of a path's nodes."""
        name, labels = [], {}
        for position, node in enumerate(path):
            role = self.nodes[position] if position < len(self.nodes) else "name"
            if role == "name*":
                name += path[position:]
                break
            if role == "name":
                name.append(node)
            elif role:
                labels[role] = node
        return ".".join(name), labels


def parse_template(text: str) -> Template:
    """`[filter ]template` as a Template; a ValueError names what is wrong."""
    parts = text.split()
    if not 1 <= len(parts) <= 2:
        raise ValueError(f"expected '[filter ]template', got {text!r}")
    nodes = tuple(parts[-1].split("."))
    for node in nodes:
        if node not in ("", "name", "name*") and not _label_key_ok(node):
            raise ValueError(f"template node {node!r}: expected name, name*, nothing, or a label key")
    if "name" not in nodes and "name*" not in nodes:
        raise ValueError(f"template {parts[-1]!r} has no name node: every metric needs a name")
    return Template(tuple(parts[0].split(".")) if len(parts) == 2 else (), nodes)


def parse_line(line: str, now_ms: int, templates: list[Template]) -> tuple[str, dict[str, str], int, float]:
    """(name, labels, epoch ms, value) of one line; a ValueError says why a line is bad. NaN values are
    returned as NaN for the caller to skip, as carbon does."""
    parts = line.split()
    if len(parts) != 3:
        raise ValueError(f"expected 'path value timestamp', got {len(parts)} fields")
    path, value_text, ts_text = parts
    value = float(value_text)
    if math.isinf(value):
        raise ValueError(f"value {value_text!r} is not finite")
    stamp = float(ts_text)
    if not math.isfinite(stamp):
        raise ValueError(f"timestamp {ts_text!r} is not a number of seconds")
    ts = now_ms if stamp == -1 else int(stamp * 1000)
    path, *tags = path.split(";")
    labels = {}
    for tag in tags:
        key, equals, tag_value = tag.partition("=")
        if not equals or not key or not tag_value:
            raise ValueError(f"tag {tag!r}: expected key=value")
        labels[key] = tag_value
    nodes = path.split(".")
    if not all(nodes):
        raise ValueError(f"path {path!r} has an empty node")
    template = next((item for item in templates if item.matches(nodes)), None)
    if template is None:
        return path, labels, ts, value
    name, mapped = template.apply(nodes)
    return name, {**mapped, **labels}, ts, value
