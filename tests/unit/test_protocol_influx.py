"""Line protocol: the grammar (escapes, field types, comments, blank lines), precision, naming, errors."""
import pytest

from metrics_server.errors import ApiError
from metrics_server.protocols import influx

NOW = 1_700_000_000_123


def points(body: str, precision: str = "ns", extra=None) -> list[tuple]:
    samples = influx.parse(body, precision, NOW, extra)
    return list(zip(samples.names, samples.labels, samples.ts, samples.values))


def test_each_field_is_a_metric_named_measurement_underscore_field():
    assert points("cpu,host=a usage=1.5,idle=98i 1700000000000000000") == [
        ("cpu_usage", {"host": "a"}, 1_700_000_000_000, 1.5), ("cpu_idle", {"host": "a"}, 1_700_000_000_000, 98.0)]


def test_escapes_in_measurement_tags_and_field_keys():
    assert points(r"disk\ io,path=C:\\,dev\ name=sd\,a\=1 read\ ops=2 1") == [
        ("disk io_read ops", {"path": "C:\\\\", "dev name": "sd,a=1"}, 0, 2.0)]


def test_blank_lines_comments_and_a_leading_space_are_skipped():
    assert [name for name, *_ in points(" m v=1\n\n# a comment\n\t  m w=2\r\n")] == ["m_v", "m_w"]


@pytest.mark.parametrize("text, value", [("1", 1.0), ("-1.5e3", -1500.0), ("7i", 7.0), ("-7i", -7.0), ("9u", 9.0),
                                         ("t", 1.0), ("TRUE", 1.0), ("False", 0.0), ("f", 0.0)])
def test_numbers_integers_and_booleans_are_values(text, value):
    assert points(f"m v={text}")[0][3] == value


@pytest.mark.parametrize("precision, stamp, ms", [("n", 1_700_000_000_123_456_789, 1_700_000_000_123),
                                                  ("u", 1_700_000_000_123_456, 1_700_000_000_123),
                                                  ("ms", 1_700_000_000_123, 1_700_000_000_123),
                                                  ("s", 1_700_000_000, 1_700_000_000_000),
                                                  ("m", 2, 120_000), ("h", 1, 3_600_000)])
def test_precision_gives_the_unit_of_timestamps(precision, stamp, ms):
    assert points(f"m v=1 {stamp}", precision)[0][2] == ms


def test_a_point_without_a_timestamp_is_now():
    assert points("m v=1")[0][2] == NOW


def test_the_database_is_a_label_unless_a_tag_says_otherwise():
    assert points("m,db=x v=1\nm v=2", extra={"db": "mydb"})[0][1] == {"db": "x"}
    assert points("m,db=x v=1\nm v=2", extra={"db": "mydb"})[1][1] == {"db": "mydb"}


def test_a_newline_inside_a_string_field_does_not_end_the_line():
    with pytest.raises(ApiError, match="line 2: fields.s: string fields are not stored"):
        points('m v=1\nm s="two\nlines",v=2\nm v=3')


@pytest.mark.parametrize("body, message", [
    ("m", "line 1: fields: missing"),
    ("m v=1\nm v=", "line 2: fields.v: expected key=value"),
    ("m,host v=1", "line 1: tags.host: expected key=value"),
    ("m v=abc", "line 1: fields.v: 'abc' is not a field value"),
    ("m v=nan", "line 1: fields.v: 'nan' is not a field value"),
    ("m v=-1u", "an unsigned integer cannot be negative"),
    ("m v=1 12x", "line 1: timestamp: expected an integer"),
    ("m v=1 99999999999999999999", "line 1: timestamp: expected an integer"),
    (",t=1 v=1", "line 1: measurement: missing"),
])
def test_a_bad_line_is_a_400_naming_the_line_and_field(body, message):
    with pytest.raises(ApiError, match=message) as caught:
        influx.parse(body, "ns", NOW)
    assert caught.value.status == 400


def test_an_unknown_precision_is_a_400():
    with pytest.raises(ApiError, match="precision: expected one of"):
        influx.parse("m v=1", "ps", NOW)


def test_points_past_the_limit_are_refused_before_the_lines_after_them_are_read():
    body = "cpu v=1 1\ncpu v=2 2\ncpu v=3 3\nthis line is never read\n"
    with pytest.raises(ApiError, match=r"at most 2 samples in a request \(max_batch_points\)"):
        influx.parse(body, "ns", 0, max_points=2)
    assert len(influx.parse(body.replace("this line is never read\n", ""), "ns", 0, max_points=3)) == 3


def test_escaped_separators_still_split_where_the_grammar_says():
    samples = influx.parse('m\\ x,t=a\\,b\\ c g=1 1\nm2 v=2 2', "ns", 0)
    assert samples.names == ["m x_g", "m2_v"] and samples.labels[0] == {"t": "a,b c"}
