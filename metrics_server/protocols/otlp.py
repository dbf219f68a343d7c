"""OpenTelemetry OTLP/HTTP metrics (opentelemetry-proto: collector/metrics/v1): an ExportMetricsServiceRequest
as protobuf or as JSON. Resource and data point attributes are labels (keys made label names: `service.name` is
`service_name`); a metric keeps its OTLP name.

Types: a gauge, or a sum that is not monotonic and cumulative, is our gauge (a delta sum's points are each
interval's increase); a monotonic cumulative sum is a counter; a histogram is Prometheus-style series,
`<name>_bucket{le=...}` (cumulative counts), `<name>_count` and `<name>_sum`, counters when cumulative; a summary
is `<name>{quantile=...}` gauges with `_count` and `_sum`. Exponential histograms and points without a value
are rejected, and answered in partial_success; points flagged "no recorded value" are skipped as stale markers.
"""
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality

from metrics_server.errors import ApiError
from metrics_server.ingest.samples import Samples
from metrics_server.protocols.prometheus import label_name

CUMULATIVE = AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
NO_RECORDED_VALUE = 1  # DataPointFlags.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK
MAX_UNIT = 32


def decode(body: bytes, json: bool) -> ExportMetricsServiceRequest:
    """The request in a body (protobuf, or OTLP's JSON mapping); a 400 when it is not one."""
    request = ExportMetricsServiceRequest()
    try:
        if json:
            json_format.Parse(body, request, ignore_unknown_fields=True)
        else:
            request.ParseFromString(body)
    except (DecodeError, json_format.ParseError, UnicodeDecodeError) as error:
        kind = "JSON" if json else "protobuf"
        raise ApiError(f"body is not an OTLP ExportMetricsServiceRequest ({kind}): {error}", 400) from None
    return request


def text(value) -> str:
    """An attribute's AnyValue as a label value."""
    kind = value.WhichOneof("value")
    if kind is None:
        return ""
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind in ("array_value", "kvlist_value", "bytes_value"):
        return json_format.MessageToJson(value, indent=None)
    return str(getattr(value, kind))


def attributes(items, where: str) -> dict[str, str]:
    """Attributes as labels; a 400 when two keys become one label name (`a.b` and `a_b`), rather than one
    value silently replacing the other."""
    labels, keys = {}, {}
    for item in items:
        name = label_name(item.key)
        if name in keys:
            raise ApiError(f"{where}.attributes: keys {keys[name]!r} and {item.key!r} are both label {name!r}; "
                           "rename one", 400)
        keys[name], labels[name] = item.key, text(item.value)
    return labels


class Converter:
    """Walks a request, adding each data point to Samples and counting the ones it rejects."""

    def __init__(self, now_ms: int, max_buckets: int):
        self.now_ms, self.max_buckets = now_ms, max_buckets
        self.out = Samples()
        self.rejected = 0
        self.reasons: list[str] = []
        self.about = "", ""  # the current metric's description and unit

    def reject(self, count: int, reason: str) -> None:
        self.rejected += count
        if reason not in self.reasons:
            self.reasons.append(reason)

    def ms(self, point) -> int:
        return point.time_unix_nano // 1_000_000 if point.time_unix_nano else self.now_ms

    def point(self, name: str, kind: str, labels: dict, where: str, ts: int, value: float) -> None:
        self.out.add(name, labels, where, [ts], [value])
        if name not in self.out.types:
            self.out.types[name] = kind
            self.out.descriptions[name], self.out.units[name] = self.about

    def metric(self, metric, resource: dict, where: str) -> None:
        """Every data point of one metric."""
        name = metric.name
        self.about = metric.description, metric.unit[:MAX_UNIT]
        data = metric.WhichOneof("data")
        if data in ("gauge", "sum"):
            body = getattr(metric, data)
            counter = data == "sum" and body.is_monotonic and body.aggregation_temporality == CUMULATIVE
            for position, point in enumerate(body.data_points):
                here = f"{where}.{data}.dataPoints[{position}]"
                if point.flags & NO_RECORDED_VALUE:
                    self.out.skip("no recorded value")
                elif point.WhichOneof("value") is None:
                    self.reject(1, f"{here}: a number data point without a value")
                else:
                    value = point.as_double if point.WhichOneof("value") == "as_double" else float(point.as_int)
                    labels = {**resource, **attributes(point.attributes, here)}
                    self.point(name, "counter" if counter else "gauge", labels, here, self.ms(point), value)
        elif data == "histogram":
            kind = "counter" if metric.histogram.aggregation_temporality == CUMULATIVE else "gauge"
            for position, point in enumerate(metric.histogram.data_points):
                self.histogram(name, kind, point, resource, f"{where}.histogram.dataPoints[{position}]")
        elif data == "summary":
            for position, point in enumerate(metric.summary.data_points):
                self.summary(name, point, resource, f"{where}.summary.dataPoints[{position}]")
        elif data == "exponential_histogram":
            self.reject(len(metric.exponential_histogram.data_points),
                        f"{where} ({name}): exponential histograms are not supported")
        else:
            self.reject(0, f"{where} ({name}): no data")

    def histogram(self, name: str, kind: str, point, resource: dict, where: str) -> None:
        """A histogram point as cumulative `_bucket` counts per upper bound, `_count` and `_sum`."""
        if point.flags & NO_RECORDED_VALUE:
            self.out.skip("no recorded value")
            return
        if len(point.explicit_bounds) + 1 > self.max_buckets:  # before a label set is made per bucket
            raise ApiError(f"{where}.explicitBounds: {len(point.explicit_bounds) + 1} buckets (at most "
                           f"{self.max_buckets}, max_buckets_per_point)", 400)
        if point.bucket_counts and len(point.bucket_counts) != len(point.explicit_bounds) + 1:
            self.reject(1, f"{where}: {len(point.bucket_counts)} bucket counts for "
                           f"{len(point.explicit_bounds)} bounds (expected one more)")
            return
        labels, ts = {**resource, **attributes(point.attributes, where)}, self.ms(point)
        total = 0
        bounds = [f"{bound:g}" for bound in point.explicit_bounds] + ["+Inf"]
        for bound, count in zip(bounds, point.bucket_counts):
            total += count
            self.point(f"{name}_bucket", kind, {**labels, "le": bound}, where, ts, float(total))
        self.point(f"{name}_count", kind, labels, where, ts, float(point.count))
        if point.HasField("sum"):
            self.point(f"{name}_sum", kind, labels, where, ts, point.sum)

    def summary(self, name: str, point, resource: dict, where: str) -> None:
        """A summary point as `{quantile=...}` gauges, `_count` and `_sum` counters."""
        if point.flags & NO_RECORDED_VALUE:
            self.out.skip("no recorded value")
            return
        labels, ts = {**resource, **attributes(point.attributes, where)}, self.ms(point)
        for quantile in point.quantile_values:
            self.point(name, "gauge", {**labels, "quantile": f"{quantile.quantile:g}"}, where, ts, quantile.value)
        self.point(f"{name}_count", "counter", labels, where, ts, float(point.count))
        self.point(f"{name}_sum", "counter", labels, where, ts, point.sum)


def samples(request: ExportMetricsServiceRequest, now_ms: int, max_buckets: int) -> tuple[Samples, int, str]:
    """(Samples, data points rejected, why) of a request; a histogram point with more than `max_buckets` buckets
    is a 400."""
    converter = Converter(now_ms, max_buckets)
    for r, resource_metrics in enumerate(request.resource_metrics):
        resource = attributes(resource_metrics.resource.attributes, f"resourceMetrics[{r}].resource")
        for s, scope_metrics in enumerate(resource_metrics.scope_metrics):
            for m, metric in enumerate(scope_metrics.metrics):
                converter.metric(metric, resource, f"resourceMetrics[{r}].scopeMetrics[{s}].metrics[{m}]")
    return converter.out, converter.rejected, "; ".join(converter.reasons)


def response(rejected: int, message: str) -> ExportMetricsServiceResponse:
    """The answer: partial_success set when some points were rejected."""
    answer = ExportMetricsServiceResponse()
    if rejected or message:
        answer.partial_success.rejected_data_points = rejected
        answer.partial_success.error_message = message
    return answer
