"""Turn the times a client may send (ISO 8601, epoch, 'now', relative) into int64 epoch milliseconds UTC."""
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from numbers import Integral, Real

import numpy as np

UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
EPOCH_MS_FROM = 1e11
MIN_MS, MAX_MS = -62_135_596_800_000, 253_402_300_799_999
EXPECTED_INSTANT = "expected ISO 8601 with offset, epoch seconds/ms, 'now' or a relative time like -6h"
# Checked before any conversion (issue 10): `start=1e400000` once held the GIL for 42 s building a 400,000-digit
# integer, and 1e999999999 overflowed Decimal (a 500). No spelling of a time in years 0001..9999 is longer than
# this, nor has an epoch with more integer digits.
MAX_INSTANT_CHARS = 64
MAX_EPOCH_DIGITS = 15

_RELATIVE = re.compile(r"(?:now)?\s*([+-])\s*(\d+)\s*([smhdw])")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_instant(value, now_ms: int) -> int:
    """One instant from a query parameter, so every endpoint accepts the same spellings of time."""
    if isinstance(value, Real) and not isinstance(value, bool):
        if isinstance(value, Integral) and int(value).bit_length() > 60:
            raise ValueError(f"time out of range (years 0001..9999); got an integer of {int(value).bit_length()} bits")
        return _from_epoch(Decimal(int(value)) if isinstance(value, Integral) else Decimal(float(value)), value)
    if not isinstance(value, str):
        raise ValueError(f"{EXPECTED_INSTANT}; got {value!r}")
    if len(value) > MAX_INSTANT_CHARS:
        raise ValueError(f"{EXPECTED_INSTANT}; got {len(value)} characters (at most {MAX_INSTANT_CHARS})")
    text = value.strip().lower()
    if text == "now":
        return int(now_ms)
    if relative := _RELATIVE.fullmatch(text):
        sign, amount, unit = relative.groups()
        return _in_range(int(now_ms) + (1 if sign == "+" else -1) * int(amount) * UNIT_MS[unit], value)
    if _NUMBER.fullmatch(text):
        try:
            return _from_epoch(Decimal(text), value)
        except InvalidOperation:
            raise ValueError(f"{EXPECTED_INSTANT}; got {value!r}") from None
    return _from_iso(value.strip())


def _from_epoch(number: Decimal, original) -> int:
    """Epoch seconds or milliseconds (|x| >= 1e11 means ms), fractions kept to the millisecond."""
    if not number.is_finite():
        raise ValueError(f"{EXPECTED_INSTANT}; got {original!r}")
    if number.adjusted() >= MAX_EPOCH_DIGITS:
        raise ValueError(f"time out of range (years 0001..9999); got {str(original)[:MAX_INSTANT_CHARS]!r}")
    ms = number if abs(number) >= Decimal(EPOCH_MS_FROM) else number * 1000
    return _in_range(int(ms.to_integral_value()), original)


def _from_iso(text: str) -> int:
    """An ISO 8601 time that names its offset; a naive one is refused rather than guessed."""
    try:
        moment = datetime.fromisoformat(text.upper())
    except ValueError:
        raise ValueError(f"{EXPECTED_INSTANT}; got {text!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"ISO 8601 time without offset: add Z or +hh:mm; got {text!r}")
    return _in_range((moment - _EPOCH) // timedelta(milliseconds=1), text)


def _in_range(ms: int, original) -> int:
    """The instant itself when it lies within years 0001..9999, so it can always be formatted back."""
    if not MIN_MS <= ms <= MAX_MS:
        raise ValueError(f"time out of range (years 0001..9999); got {original!r}")
    return ms


def format_iso_array(ms_array) -> list[str]:
    """Many instants formatted at once, for raw pages and CSV exports of whole series (numpy formats them with
    milliseconds; whole seconds drop the '.000')."""
    ms = np.asarray(ms_array, dtype=np.int64)
    texts = np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms").tolist()
    return [f"{text[:-4]}Z" if whole else f"{text}Z" for text, whole in zip(texts, (ms % 1000 == 0).tolist())]
