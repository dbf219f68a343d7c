"""Access-log formats: the presets and custom nginx log_format strings, parsed a chunk at a time."""
import calendar

import pytest

from metrics_server.agents.logformat import FormatError, compile_format, epoch_of
from metrics_server.agents.traffic import Traffic

T = calendar.timegm((2000, 10, 10, 20, 55, 36))  # 10/Oct/2000:13:55:36 -0700
COMMON = b'127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326\n'
COMBINED = (b'127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /pages/create?x=1 HTTP/1.0" 302 - '
            b'"http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav) \\"quoted\\""\n')


def counted(spec: str, chunk: bytes) -> Traffic:
    traffic = Traffic(compile_format(spec))
    traffic.add(chunk, wall_now=T)
    return traffic


@pytest.mark.parametrize("spec, chunk, key, bytes_", [
    ("common", COMMON, ("/apache_pb.gif", "GET", "2xx"), 2326),
    ("combined", COMBINED, ("/pages", "GET", "3xx"), 0),
    ("common", COMBINED, ("/pages", "GET", "3xx"), 0),  # trailing fields are allowed
    ("nginx", b'::1 - - [10/Oct/2000:13:55:36 -0700] "POST /api/write HTTP/1.1" 201 27 "-" "curl/8"\n',
     ("/api", "POST", "2xx"), 27),
    ("nginx", b'10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "-" 400 0 "-" "-"\n', ("(other)", "-", "4xx"), 0),
    ("nginx", b'10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "BREW / HTTP/1.1" 418 0 "-" "-"\r\n',
     ("/", "OTHER", "4xx"), 0),
    ('$remote_addr [$time_iso8601] "$request_method $request_uri" $status $bytes_sent',
     b'1.2.3.4 [2000-10-10T13:55:36-07:00] "DELETE /user/7" 204 10\n', ("/user", "DELETE", "2xx"), 10),
    ("$msec $status $request", b'971211336.123 503 GET /feed/rss HTTP/1.1\n', ("/feed", "GET", "5xx"), None),
])
def test_formats_give_section_method_status_class_and_bytes(spec, chunk, key, bytes_):
    traffic = counted(spec, chunk)
    assert traffic.malformed == 0
    assert dict(traffic.bins[T].requests) == {key: 1}
    assert traffic.bins[T].bytes.get(key[0], None if bytes_ is None else 0) == bytes_


def test_malformed_lines_are_counted_and_sampled_never_fatal():
    chunk = COMMON + b"garbage line\n" + b"\n" + COMMON.replace(b"200", b"2000") + COMMON
    traffic = counted("common", chunk)
    assert (traffic.lines, traffic.malformed) == (5, 3)
    assert traffic.bins[T].hits == 2 and traffic.bins[T].errors == 3
    assert traffic.last_malformed == b"garbage line"


def test_request_time_becomes_per_bucket_counts():
    chunk = COMBINED.rstrip(b"\n") + b" 0.003\n" + COMBINED.rstrip(b"\n") + b" 0.7\n"
    traffic = counted("metrics_server", chunk)
    buckets = traffic.bins[T].times["/pages"]
    assert sum(buckets) == 2 and buckets[0] == 1 and buckets[7] == 1  # <= 0.005 and <= 1.0


def test_bins_are_keyed_by_the_log_timestamp_not_the_clock():
    lines = COMMON + COMMON.replace(b":36 ", b":37 ") + COMMON.replace(b":36 ", b":37 ")
    traffic = counted("common", lines)
    assert {s: b.hits for s, b in traffic.bins.items()} == {T: 1, T + 1: 2}
    assert traffic.newest == T + 1


@pytest.mark.parametrize("raw, kind, expected", [
    (b"10/Oct/2000:13:55:36 -0700", "time_local", T),
    (b"10/Oct/2000:20:55:36 +0000", "time_local", T),
    (b"2000-10-10T22:55:36+02:00", "time_iso8601", T),
    (b"2000-10-10T20:55:36Z", "time_iso8601", T),
    (b"971211336", "msec", T),
])
def test_times(raw, kind, expected):
    assert epoch_of(raw, kind) == expected


@pytest.mark.parametrize("spec, message", [
    ('$remote_addr "$request" $status', "needs a time"),
    ("[$time_local] $request", "needs a status"),
    ("$time_local $time_iso8601 $status", "repeats the time field"),
])
def test_unusable_formats_are_refused_with_the_reason(spec, message):
    with pytest.raises(FormatError, match=message):
        compile_format(spec)
