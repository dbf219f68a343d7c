"""Prometheus remote_read, sampled responses (prompb/remote.proto): a snappy block around a protobuf ReadRequest
in, one QueryResult of TimeSeries per query out, snappy-compressed. Prometheus (2.42 included) then answers
PromQL over our history; it asks for SAMPLES, the only response type every version understands."""
import cramjam
from google.protobuf.message import DecodeError

from metrics_server.errors import ApiError
from metrics_server.promql import Matcher, PromQLError, RawSeries
from metrics_server.protocols.remote_write import PROMPB, snappy_length

OPS = ("=", "!=", "=~", "!~")  # LabelMatcher.Type: EQ, NEQ, RE, NRE


def decode(body: bytes, max_bytes: int) -> list[tuple[tuple[Matcher, ...], int, int]]:
    """(matchers, start ms, end ms) of each query in a snappy-compressed ReadRequest; a 400 naming what is wrong."""
    if not body:
        raise ApiError("request body is empty; expected a snappy-compressed ReadRequest", 400)
    if snappy_length(body) > max_bytes:
        raise ApiError(f"the uncompressed ReadRequest ({snappy_length(body)} bytes) exceeds {max_bytes} bytes", 413)
    request = PROMPB["ReadRequest"]()
    try:
        request.ParseFromString(bytes(cramjam.snappy.decompress_raw(body)))
    except (cramjam.DecompressionError, DecodeError) as error:
        raise ApiError(f"body is not a snappy-compressed protobuf ReadRequest: {error}", 400) from None
    queries = []
    for index, query in enumerate(request.queries):
        if any(not 0 <= matcher.type < len(OPS) for matcher in query.matchers):
            raise ApiError(f"queries.{index}.matchers: unknown matcher type", 400)
        try:
            matchers = tuple(Matcher.of(m.name, OPS[m.type], m.value) for m in query.matchers)
        except PromQLError as error:
            raise ApiError(f"queries.{index}.matchers: {error}", 400) from None
        queries.append((matchers, query.start_timestamp_ms, query.end_timestamp_ms))
    return queries


def encode(results: list[list[RawSeries]]) -> bytes:
    """A snappy-compressed ReadResponse: for each query, its series with labels sorted and their samples."""
    response = PROMPB["ReadResponse"]()
    for found in results:
        result = response.results.add()
        for series in found:
            item = result.timeseries.add()
            for name, value in sorted(series.labels.items()):
                item.labels.add(name=name, value=value)
            for ts, value in zip(series.timestamps.tolist(), series.values.tolist()):
                item.samples.add(timestamp=ts, value=value)
    return bytes(cramjam.snappy.compress_raw(response.SerializeToString()))
