"""Go's way of printing values, as Prometheus' templates show them: float64 as %v prints it (1e6 is '1e+06'),
fmt.Sprintf's verbs, and the humanize functions of Prometheus' template reference. Errors are ValueErrors
(the template runner names the function that raised them)."""
import datetime
import json
import math
import re
from dataclasses import dataclass
from typing import Any

NO_VALUE = "<no value>"  # what Go prints for a missing map key
MAX_WIDTH = 65_536  # of a printf width or precision: '%01000000000d' would allocate a gigabyte


@dataclass
class Sample:
    """A query result element as templates see it: .Labels and .Value."""

    Labels: dict
    Value: float


def shortest_e(value: float) -> str:
    """The shortest digits that read back as `value`, in exponent form ('1.5e+01'), as strconv finds them."""
    for precision in range(17):
        candidate = format(value, f".{precision}e")
        if float(candidate) == value:
            return candidate
    return format(value, ".16e")


def go_float(value: float) -> str:
    """A float64 as Go's %v prints it: the shortest digits, in exponent form when the exponent is below -4 or
    at least 6 (strconv's 'g' with precision -1): 1e6 → '1e+06', 123456 → '123456', 0.0001 → '0.0001'."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    sign = "-" if value < 0 else ""
    significand, exp = shortest_e(abs(value)).split("e")
    exp = int(exp)
    digits = significand.replace(".", "")
    point = exp + 1  # where the decimal point goes, strconv's dp
    if exp < -4 or exp >= 6:
        return f"{sign}{significand}e{'+' if exp >= 0 else '-'}{abs(exp):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


def go_e(value: float) -> str:
    """strconv.FormatFloat(v, 'e', -1, 64): how Prometheus' API states an alert's value (11 → '1.1e+01')."""
    if math.isnan(value) or math.isinf(value):
        return go_float(value)
    significand, exp = shortest_e(value).split("e")
    return f"{significand}e{exp[0]}{int(exp[1:]):02d}"


def go_str(value: Any) -> str:
    """Any template value printed as Go would."""
    if value is None:
        return NO_VALUE
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_str(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_str(v) for v in value) + "]"
    if isinstance(value, Sample):
        return "{" + go_str(value.Labels) + " " + go_float(value.Value) + "}"
    return str(value)


def number(value: Any) -> float:
    """Prometheus' convertToFloat: numbers and numeric strings."""
    if isinstance(value, Sample):
        value = value.Value
    if isinstance(value, bool):
        raise ValueError(f"can't convert {value} to float")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"can't convert {value!r} to float") from None


def _scaled(value: float, steps: list[str], base: float, suffix: str = "") -> str:
    prefix = ""
    if abs(value) >= 1:
        for step in steps:
            if abs(value) < base:
                break
            prefix, value = step, value / base
    return f"{go_g4(value)}{prefix}{suffix}"


def go_g4(value: float) -> str:
    """Go's %.4g (exponent with at least two digits, as in C)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return format(value, ".4g")


def _small(v: float) -> tuple[str, str]:
    """A magnitude below 1 scaled up by thousands: (its %.4g, the SI prefix: m, u, n, ...)."""
    prefix = ""
    for step in ["m", "u", "n", "p", "f", "a", "z", "y"]:
        if abs(v) >= 1:
            break
        prefix, v = step, v * 1000
    return go_g4(v), prefix


def humanize(value: Any) -> str:
    """1234 → 1.234k, 0.001 → 1m: SI prefixes, four significant digits."""
    v = number(value)
    if v == 0 or math.isnan(v) or math.isinf(v):
        return go_g4(v)
    if abs(v) >= 1:
        return _scaled(v, ["k", "M", "G", "T", "P", "E", "Z", "Y"], 1000)
    return "{}{}".format(*_small(v))


def humanize1024(value: Any) -> str:
    """1048576 → 1Mi: binary prefixes."""
    v = number(value)
    if abs(v) <= 1 or math.isnan(v) or math.isinf(v):
        return go_g4(v)
    return _scaled(v, ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"], 1024)


def humanize_duration(value: Any) -> str:
    """Seconds as 1d 2h 3m 4s (and 1.5s, 100ms below a second)."""
    v = number(value)
    if math.isnan(v) or math.isinf(v):
        return go_g4(v)
    if v == 0:
        return "0s"
    if abs(v) >= 1:
        sign, v = ("-", -v) if v < 0 else ("", v)
        whole = int(v)
        seconds, minutes, hours, days = whole % 60, whole // 60 % 60, whole // 3600 % 24, whole // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{go_g4(v)}s"
    return "{}{}s".format(*_small(v))


def humanize_timestamp(value: Any) -> str:
    """Epoch seconds as Go's time.Time prints in UTC: 2024-02-02 11:43:02 +0000 UTC."""
    v = number(value)
    if math.isnan(v) or math.isinf(v):
        return go_g4(v)
    moment = datetime.datetime.fromtimestamp(v, datetime.UTC)
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    return moment.strftime("%Y-%m-%d %H:%M:%S") + (f".{fraction}" if fraction else "") + " +0000 UTC"


GO_VERB = re.compile(r"%([-+# 0]*(\d*)(?:\.(\d+))?)([vdsfgeqxXtT%])")


def printf(fmt: str, *args: Any) -> str:
    """Go's fmt.Sprintf for the verbs templates use (%v %s %d %f %g %e %q %x %t %%); a width or precision
    above MAX_WIDTH is refused before anything is allocated."""
    values = iter(args)

    def one(match: re.Match) -> str:
        flags, width, precision, verb = match.groups()
        if int(width or 0) > MAX_WIDTH or int(precision or 0) > MAX_WIDTH:
            raise ValueError(f"printf width or precision above {MAX_WIDTH} in {match.group()[:20]!r}")
        if verb == "%":
            return "%"
        arg = next(values, None)
        if verb in "vsT" or (verb == "t" and isinstance(arg, bool)):
            return ("%" + flags + "s") % (type(arg).__name__ if verb == "T" else go_str(arg))
        if verb == "q":
            return json.dumps(go_str(arg))
        if verb == "d":
            return ("%" + flags + "d") % int(number(arg))
        return ("%" + flags + verb) % (int(number(arg)) if verb in "xX" else number(arg))

    return GO_VERB.sub(one, fmt)
