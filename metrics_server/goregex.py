"""Every user-supplied regex as Prometheus runs it: RE2 syntax, linear time (issue 21). The one place a pattern
from a request, a rule or a template is compiled: label matchers (used with `fullmatch`, anchored as Prometheus
anchors them), label_replace, and alert templates' `match` and `reReplaceAll`.

Python's `re` backtracks: `host=~"(a+)+b"` against a stored value of 30 `a`s froze an instance for over 70 s,
and the query deadline cannot interrupt a running match. Google's RE2 (the `google-re2` binding) matches in time
linear in the value, accepts Go's syntax (`(?i)` inside a group, `\\pL`), and refuses what RE2 cannot do in linear
time (backreferences, lookaround) at compile time, which we answer as a 400 naming the pattern.
"""
import re2

MAX_PATTERN_BYTES = 4096  # a filter, not a program; RE2 also caps its compiled size (max_mem)

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a refused pattern is the client's error, answered to it; not a line in our log


def compile_go(pattern: str):
    """The compiled pattern (matchers use `fullmatch`: Prometheus anchors them as `^(?:pattern)$`); ValueError
    saying why when it is too long or not RE2 syntax."""
    if len(pattern.encode()) > MAX_PATTERN_BYTES:
        raise ValueError(f"regular expression of {len(pattern.encode())} bytes (at most {MAX_PATTERN_BYTES})")
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as error:
        reason = error.args[0].decode(errors="replace") if error.args and isinstance(error.args[0], bytes) \
            else str(error)
        raise ValueError(f"invalid regular expression {pattern!r}: {reason}") from None
