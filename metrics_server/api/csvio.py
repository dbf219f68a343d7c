"""CSV exports that a spreadsheet opens safely: every field quoted (a bare CR or a comma in a label cannot split
a row), and a text cell that a spreadsheet would run as a formula (starting with = + - @ TAB or CR: OWASP's
CSV injection advice, CWE-1236) prefixed with ' so it stays text; also when the formula sign comes after
leading spaces, NBSP or zero-width characters (which spreadsheets skip) or is a full-width one (＝, which some
convert). Numbers the server formats are left alone."""
import csv
import io
import re
import unicodedata
from urllib.parse import quote

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Leading characters a spreadsheet may skip before reading a formula: whitespace (NBSP and the ideographic space
# included) and the zero-width ones, then the first visible character.
FIRST_VISIBLE = re.compile(r"[\s\u200b-\u200d\u2060\ufeff]*(.)", re.DOTALL)


def neutral(cell: str) -> str:
    """A text cell as a spreadsheet should show it, never as a formula."""
    first = FIRST_VISIBLE.match(cell)
    runs = cell.startswith(FORMULA_START) or (first is not None and
                                              unicodedata.normalize("NFKC", first.group(1)) in FORMULA_START)
    return "'" + cell if runs else cell


def neutral_column(cells) -> list[str]:
    return [neutral(cell) for cell in cells]


def writer(buffer: io.StringIO):
    return csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")


def attachment(filename: str) -> str:
    """A Content-Disposition value naming the download, ASCII-safe whatever the name holds."""
    plain = re.sub(r"[^A-Za-z0-9_.:-]", "_", filename)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"
