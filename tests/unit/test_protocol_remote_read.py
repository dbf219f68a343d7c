"""remote_read's wire format: a ReadRequest's queries as our matchers, our series as a ReadResponse."""
import cramjam
import numpy as np
import pytest

from metrics_server.errors import ApiError
from metrics_server.promql import RawSeries
from metrics_server.protocols import remote_read
from metrics_server.protocols.remote_write import PROMPB


def request_of(*queries) -> bytes:
    request = PROMPB["ReadRequest"]()
    for start, end, matchers in queries:
        query = request.queries.add(start_timestamp_ms=start, end_timestamp_ms=end)
        for kind, name, value in matchers:
            query.matchers.add(type=kind, name=name, value=value)
    return bytes(cramjam.snappy.compress_raw(request.SerializeToString()))


def test_queries_become_matchers_with_prometheus_match_types():
    [(matchers, start, end)] = remote_read.decode(request_of(
        (1000, 2000, [(0, "__name__", "up"), (1, "job", "x"), (2, "instance", "a.*"), (3, "env", "dev|test")])), 1 << 20)
    assert (start, end) == (1000, 2000)
    assert [(m.name, m.op, m.value) for m in matchers] == [
        ("__name__", "=", "up"), ("job", "!=", "x"), ("instance", "=~", "a.*"), ("env", "!~", "dev|test")]
    assert matchers[2].matches("a:9090") and not matchers[2].matches("ba")  # anchored


@pytest.mark.parametrize(("body", "message"), [
    (b"", "empty"), (b"\x05nope!", "not a snappy-compressed protobuf ReadRequest"),
    (request_of((0, 1, [(7, "a", "b")])), "queries.0.matchers: unknown matcher type"),
    (request_of((0, 1, [(2, "a", "(")])), "queries.0.matchers: label a: invalid regular expression"),
])
def test_bad_requests_are_400s_naming_the_problem(body, message):
    with pytest.raises(ApiError, match=message) as error:
        remote_read.decode(body, 1 << 20)
    assert error.value.status == 400


def test_response_holds_one_result_per_query_with_sorted_labels():
    body = remote_read.encode([[RawSeries({"job": "x", "__name__": "up"}, np.array([1000, 2000]), np.array([1.0, 0.5]))],
                               []])
    response = PROMPB["ReadResponse"]()
    response.ParseFromString(bytes(cramjam.snappy.decompress_raw(body)))
    assert len(response.results) == 2 and not response.results[1].timeseries
    [series] = response.results[0].timeseries
    assert [(label.name, label.value) for label in series.labels] == [("__name__", "up"), ("job", "x")]
    assert [(s.timestamp, s.value) for s in series.samples] == [(1000, 1.0), (2000, 0.5)]
