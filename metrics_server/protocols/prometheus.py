"""Prometheus conventions shared by remote_write, the query API and remote_read: stale markers, metric types
from metadata or names, label names."""
import re
from collections.abc import Callable

import numpy as np

# Prometheus marks a series that disappeared with this NaN (value.StaleNaN); any other NaN is an ordinary value.
STALE_NAN_BITS = 0x7FF0000000000002
NAME_LABEL = "__name__"
# prompb.MetricMetadata.MetricType, in field order.
METADATA_TYPES = ("unknown", "counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset")
# A family of these types has cumulative series named <family>_<suffix>.
CUMULATIVE_SUFFIXES = {"histogram": ("_bucket", "_count", "_sum"), "summary": ("_count", "_sum")}
_INVALID_LABEL_CHARS = re.compile(r"[^A-Za-z0-9_]")


def is_stale(values) -> np.ndarray:
    """Where values are the stale marker (compared by bit pattern: NaN never equals itself, and an ordinary NaN
    sample is a value)."""
    return np.asarray(values, dtype=np.float64).view(np.uint64) == STALE_NAN_BITS


def metric_type(name: str, labels: dict[str, str], family_type: Callable[[str], str | None] = lambda _: None) -> str:
    """Our type for a Prometheus series: a counter when its family's metadata (`family_type(family name)`) says so
    (a counter, or the _bucket/_count/_sum of a histogram or summary), else by the naming convention (_total, or
    _bucket with an `le` label); a gauge otherwise."""
    family = family_type(name)
    if family is not None:
        return "counter" if family == "counter" else "gauge"
    for kind, suffixes in CUMULATIVE_SUFFIXES.items():
        for suffix in suffixes:
            if name.endswith(suffix) and family_type(name[:-len(suffix)]) == kind:
                return "counter"
    if name.endswith("_total") or (name.endswith("_bucket") and "le" in labels):
        return "counter"
    return "gauge"


def counters_of(families: dict[str, str]) -> list[str]:
    """The series names that families' metadata ({family: its type}) makes counters: a counter family's own
    name, a histogram's or summary's cumulative series."""
    names = []
    for family, kind in families.items():
        if kind == "counter":
            names.append(family)
        names += [family + suffix for suffix in CUMULATIVE_SUFFIXES.get(kind, ())]
    return names


def label_name(key: str) -> str:
    """A key that is not a valid Prometheus label name (OTLP's `service.name`) made into one, as Prometheus'
    OTLP translator does: every other character becomes _, and a leading digit gets a _ before it."""
    name = _INVALID_LABEL_CHARS.sub("_", key)
    return "_" + name if name[:1].isdigit() else name
