"""Prometheus remote_write 1.0: a snappy block around a protobuf WriteRequest
(https://prometheus.io/docs/specs/remote_write_spec). The messages are built from a descriptor at import time,
so there is no protoc step; field numbers are prompb's (prometheus/prompb/remote.proto, types.proto)."""
from dataclasses import dataclass

import cramjam
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

from metrics_server.errors import ApiError
from metrics_server.ingest.samples import BadSample, Samples
from metrics_server.protocols.prometheus import METADATA_TYPES, NAME_LABEL, metric_type

_F = descriptor_pb2.FieldDescriptorProto
# (message, [(field, number, type, repeated, message type)]). TimeSeries' exemplars (3) and native histograms
# (4) are read as raw bytes: only whether they are there matters.
MESSAGES = (
    ("Label", [("name", 1, _F.TYPE_STRING, False, None), ("value", 2, _F.TYPE_STRING, False, None)]),
    ("Sample", [("value", 1, _F.TYPE_DOUBLE, False, None), ("timestamp", 2, _F.TYPE_INT64, False, None)]),
    ("TimeSeries", [("labels", 1, _F.TYPE_MESSAGE, True, "Label"), ("samples", 2, _F.TYPE_MESSAGE, True, "Sample"),
                    ("exemplars", 3, _F.TYPE_BYTES, True, None), ("histograms", 4, _F.TYPE_BYTES, True, None)]),
    ("MetricMetadata", [("type", 1, _F.TYPE_INT32, False, None), ("metric_family_name", 2, _F.TYPE_STRING, False, None),
                        ("help", 4, _F.TYPE_STRING, False, None), ("unit", 5, _F.TYPE_STRING, False, None)]),
    ("WriteRequest", [("timeseries", 1, _F.TYPE_MESSAGE, True, "TimeSeries"),
                      ("metadata", 3, _F.TYPE_MESSAGE, True, "MetricMetadata")]),
    # The same messages as a receiver reads them: each Label kept as its bytes (see Identities).
    ("ReceivedSeries", [("labels", 1, _F.TYPE_BYTES, True, None), ("samples", 2, _F.TYPE_MESSAGE, True, "Sample"),
                        ("exemplars", 3, _F.TYPE_BYTES, True, None), ("histograms", 4, _F.TYPE_BYTES, True, None)]),
    ("ReceivedWriteRequest", [("timeseries", 1, _F.TYPE_MESSAGE, True, "ReceivedSeries"),
                              ("metadata", 3, _F.TYPE_MESSAGE, True, "MetricMetadata")]),
    # remote_read (protocols/remote_read.py); a query's hints (4) are only advice, kept as bytes
    ("LabelMatcher", [("type", 1, _F.TYPE_INT32, False, None), ("name", 2, _F.TYPE_STRING, False, None),
                      ("value", 3, _F.TYPE_STRING, False, None)]),
    ("Query", [("start_timestamp_ms", 1, _F.TYPE_INT64, False, None),
               ("end_timestamp_ms", 2, _F.TYPE_INT64, False, None),
               ("matchers", 3, _F.TYPE_MESSAGE, True, "LabelMatcher"), ("hints", 4, _F.TYPE_BYTES, False, None)]),
    ("ReadRequest", [("queries", 1, _F.TYPE_MESSAGE, True, "Query"),
                     ("accepted_response_types", 2, _F.TYPE_INT32, True, None)]),
    ("QueryResult", [("timeseries", 1, _F.TYPE_MESSAGE, True, "TimeSeries")]),
    ("ReadResponse", [("results", 1, _F.TYPE_MESSAGE, True, "QueryResult")]),
)


def _build() -> dict[str, type]:
    """The message classes, in a pool of their own (so another prometheus.proto in the process cannot clash)."""
    file = descriptor_pb2.FileDescriptorProto(name="metrics_server/prompb.proto", package="metrics_server.prompb",
                                              syntax="proto3")
    for name, fields in MESSAGES:
        message = file.message_type.add(name=name)
        for field_name, number, kind, repeated, type_name in fields:
            message.field.add(name=field_name, number=number, type=kind,
                              label=_F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL,
                              type_name=f".metrics_server.prompb.{type_name}" if type_name else None)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"metrics_server.prompb.{name}"))
            for name, _ in MESSAGES}


PROMPB = _build()
WriteRequest = PROMPB["WriteRequest"]
MAX_SERIES = 100_000  # series identities a process remembers (a few hundred bytes each); more start it afresh


@dataclass(frozen=True)
class Family:
    """What a metadata entry says about a metric family."""

    type: str
    help: str
    unit: str


def snappy_length(body: bytes) -> int:
    """The uncompressed length a snappy block announces (its leading varint), read before decompressing."""
    length = shift = 0
    for byte in body[:10]:
        length |= (byte & 0x7F) << shift
        if byte < 0x80:
            return length
        shift += 7
    raise ApiError("body is not a snappy block: expected Content-Encoding: snappy (block format, not framed)", 400)


def decode(body: bytes, max_bytes: int):
    """The WriteRequest in a snappy-compressed body; a 400 when it is not one or unpacks past `max_bytes`."""
    if not body:
        raise ApiError("request body is empty; expected a snappy-compressed WriteRequest", 400)
    if snappy_length(body) > max_bytes:
        raise ApiError(f"the uncompressed WriteRequest ({snappy_length(body)} bytes) exceeds {max_bytes} bytes", 413)
    try:
        raw = bytes(cramjam.snappy.decompress_raw(body))
    except cramjam.DecompressionError as error:
        raise ApiError(f"body is not a snappy block (block format, not framed): {error}", 400) from None
    request = PROMPB["ReceivedWriteRequest"]()
    try:
        request.ParseFromString(raw)
    except DecodeError as error:
        raise ApiError(f"body is not a protobuf WriteRequest: {error}", 400) from None
    return request


def encode(series, metadata=()) -> bytes:
    """A snappy-compressed WriteRequest of (labels with __name__, [(ms, value)]) pairs and (MetricMetadata type
    number, family, help) triples, labels sorted as Prometheus sends them: for senders (the benchmark, tests)."""
    message = WriteRequest()
    for labels, points in series:
        item = message.timeseries.add()
        for key, value in sorted(labels.items()):
            item.labels.add(name=key, value=value)
        for ts, value in points:
            item.samples.add(timestamp=ts, value=value)
    for kind, family, text in metadata:
        message.metadata.add(type=kind, metric_family_name=family, help=text)
    return bytes(cramjam.snappy.compress_raw(message.SerializeToString()))


def families(request) -> dict[str, Family]:
    """The metadata a request carries (Prometheus sends it in requests of its own, without samples)."""
    return {item.metric_family_name: Family(METADATA_TYPES[item.type] if 0 <= item.type < len(METADATA_TYPES)
                                            else "unknown", item.help, item.unit) for item in request.metadata}


class Identities:
    """Each series' name and other labels by its labels' bytes as sent. A sender sends a series' labels byte for
    byte the same in every request, so a series seen before costs one dict look-up instead of a Python object per
    label (a scrape-shaped request of 200 series: 8.6 ms of labels decoded, 1.5 ms looked up). The labels a look-up
    returns are shared: read them, never change them."""

    def __init__(self, most: int = MAX_SERIES):
        self.most = most
        self.known: dict[tuple[bytes, ...], tuple[str | None, dict[str, str]]] = {}

    def of(self, raw: tuple[bytes, ...], position: int) -> tuple[str | None, dict[str, str]]:
        """(`__name__`, the other labels) of the series at `position` whose Label messages are `raw`."""
        found = self.known.get(raw)
        if found is None:
            try:
                labels = {label.name: label.value for label in map(PROMPB["Label"].FromString, raw)}
            except DecodeError as error:
                raise BadSample(f"timeseries {position}", "labels", f"not a protobuf Label: {error}") from None
            found = labels.pop(NAME_LABEL, None), labels
            if len(self.known) >= self.most:
                self.known.clear()
            self.known[raw] = found
        return found


def place(position: int, name: str) -> str:
    """A series as errors name it: `timeseries 3 (node_load1)`."""
    return f"timeseries {position} ({name})"


def samples(request, known: dict[str, Family] | None = None, identities: Identities | None = None) -> Samples:
    """The request's series as Samples: `__name__` is the metric, the other labels are labels, every sample a
    value: stale markers and other NaNs, ±Inf too, stored to the bit (PromQL ends a series at its stale marker,
    and a NaN sample is a value to Prometheus; /api/query's charts leave NaN out). The type
    of a metric this creates comes from the family's metadata (`known`, from earlier requests) or its name.
    One pass of plain appends: it runs per series of every request (about 15 µs a series; a series' samples
    iterated once, not twice as two list comprehensions, took it from 34 to 15 µs on the bench machine)."""
    known = known or {}
    identities = identities or Identities()

    def family_type(family: str) -> str | None:
        return known[family].type if family in known else None

    out = Samples(place=place)
    names, label_sets, where, sizes, types = out.names, out.labels, out.where, out.sizes, out.types
    all_ts, all_values = out.ts, out.values
    add_ts, add_value = all_ts.append, all_values.append
    for position, series in enumerate(request.timeseries):
        name, labels = identities.of(tuple(series.labels), position)
        if not name:
            raise BadSample(f"timeseries {position}", f"labels.{NAME_LABEL}", "missing: it names the metric")
        if series.histograms:
            raise BadSample(place(position, name), "histograms", "native histograms are not supported; send "
                                                                 "classic histograms (_bucket series with an le label)")
        before = len(all_ts)
        for sample in series.samples:
            add_ts(sample.timestamp)
            add_value(sample.value)
        if len(all_ts) > before:
            names.append(name)
            label_sets.append(labels)
            where.append(position)
            sizes.append(len(all_ts) - before)
        if name not in types:
            types[name] = metric_type(name, labels, family_type)
            if name in known:
                out.descriptions[name], out.units[name] = known[name].help, known[name].unit
    return out
