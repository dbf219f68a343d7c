"""CSV cells a spreadsheet would run as formulas are neutralised; every field is quoted."""
import csv
import io

from metrics_server.api import csvio


def test_formula_starts_get_a_quote_and_other_text_is_left_alone():
    cells = ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "plain", "1-2", "", "'already"]
    assert csvio.neutral_column(cells) == ["'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", "plain", "1-2", "",
                                           "'already"]


def test_every_field_is_quoted_so_a_cr_cannot_split_a_row():
    buffer = io.StringIO()
    csvio.writer(buffer).writerow(["a\rb", "", "1.5"])
    assert buffer.getvalue() == '"a\rb","","1.5"\n'
    assert list(csv.reader(io.StringIO(buffer.getvalue(), newline=""))) == [["a\rb", "", "1.5"]]


def test_download_names_are_ascii_whatever_the_metric_is_called():
    assert csvio.attachment("cpu.csv") == "attachment; filename=\"cpu.csv\"; filename*=UTF-8''cpu.csv"
    value = csvio.attachment('a"b\r\n東.csv')
    assert value.isascii() and "\r" not in value and value.startswith('attachment; filename="a_b___.csv"')


def test_a_formula_behind_invisible_or_blank_characters_or_in_full_width_is_neutralised_too():
    cells = [" =1+1", "\u00a0=HYPERLINK(\"x\")", "\u200b=1", "\ufeff\u3000+1", "\uff1d1+1", "\uff20SUM(A1)",
             "\uff0b1", "\uff0d1", "  plain", "\u00a0a=b", "x =1"]
    assert csvio.neutral_column(cells) == ["'" + cell for cell in cells[:8]] + ["  plain", "\u00a0a=b", "x =1"]
