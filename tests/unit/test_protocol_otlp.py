"""OTLP metrics: protobuf and JSON decoding, gauges, sums, histograms, summaries, rejections."""
import json

import pytest

from metrics_server.errors import ApiError
from metrics_server.protocols import otlp

T = "1700000000000000000"
RESOURCE = {"attributes": [{"key": "service.name", "value": {"stringValue": "shop"}}]}


def request(*metrics) -> bytes:
    return json.dumps({"resourceMetrics": [{"resource": RESOURCE, "scopeMetrics": [{"metrics": list(metrics)}]}]}
                      ).encode()


def series(body: bytes, json_body: bool = True):
    samples, rejected, why = otlp.samples(otlp.decode(body, json_body), 5, 256)
    return [(name, labels, samples.types[name], value) for name, labels, value
            in zip(samples.names, samples.labels, samples.values)], rejected, why, samples


def test_a_gauge_with_resource_and_point_attributes_as_labels():
    body = request({"name": "temp", "unit": "Cel", "gauge": {"dataPoints": [
        {"timeUnixNano": T, "asDouble": 21.5, "attributes": [{"key": "room", "value": {"stringValue": "a"}}]}]}})
    found, rejected, _, samples = series(body)
    assert found == [("temp", {"service_name": "shop", "room": "a"}, "gauge", 21.5)] and rejected == 0
    assert samples.ts == [1_700_000_000_000] and samples.units["temp"] == "Cel"


@pytest.mark.parametrize("monotonic, temporality, kind", [(True, 2, "counter"), (True, 1, "gauge"),
                                                          (False, 2, "gauge")])
def test_only_monotonic_cumulative_sums_are_counters(monotonic, temporality, kind):
    body = request({"name": "n", "sum": {"isMonotonic": monotonic, "aggregationTemporality": temporality,
                                         "dataPoints": [{"timeUnixNano": T, "asInt": "7"}]}})
    assert series(body)[0] == [("n", {"service_name": "shop"}, kind, 7.0)]


def test_a_histogram_becomes_cumulative_bucket_count_and_sum_series():
    body = request({"name": "lat", "histogram": {"aggregationTemporality": 2, "dataPoints": [
        {"timeUnixNano": T, "count": "6", "sum": 2.5, "explicitBounds": [0.1, 1], "bucketCounts": ["1", "2", "3"]}]}})
    found = series(body)[0]
    assert [(name, labels.get("le"), value) for name, labels, _, value in found] == [
        ("lat_bucket", "0.1", 1.0), ("lat_bucket", "1", 3.0), ("lat_bucket", "+Inf", 6.0), ("lat_count", None, 6.0),
        ("lat_sum", None, 2.5)]
    assert {kind for *_, kind, _ in found} == {"counter"}


def test_a_summary_becomes_quantile_gauges_with_count_and_sum():
    body = request({"name": "rpc", "summary": {"dataPoints": [{"timeUnixNano": T, "count": "2", "sum": 3.0,
                                                               "quantileValues": [{"quantile": 0.5, "value": 1.0}]}]}})
    assert [(name, labels.get("quantile"), kind) for name, labels, kind, _ in series(body)[0]] == [
        ("rpc", "0.5", "gauge"), ("rpc_count", None, "counter"), ("rpc_sum", None, "counter")]


def test_exponential_histograms_are_rejected_in_partial_success():
    body = request({"name": "exp", "exponentialHistogram": {"dataPoints": [{"timeUnixNano": T}, {}]}},
                   {"name": "ok", "gauge": {"dataPoints": [{"timeUnixNano": T, "asDouble": 1}]}})
    found, rejected, why, _ = series(body)
    assert [name for name, *_ in found] == ["ok"] and rejected == 2 and "exponential histograms" in why
    answer = otlp.response(rejected, why)
    assert answer.partial_success.rejected_data_points == 2


def test_points_flagged_no_recorded_value_are_skipped_as_stale():
    body = request({"name": "g", "gauge": {"dataPoints": [{"timeUnixNano": T, "asDouble": 1, "flags": 1}]}})
    found, rejected, _, samples = series(body)
    assert found == [] and rejected == 0 and samples.skipped == {"no recorded value": 1}


def test_protobuf_decodes_like_json():
    message = otlp.decode(request({"name": "g", "gauge": {"dataPoints": [{"timeUnixNano": T, "asInt": "3"}]}}), True)
    assert series(message.SerializeToString(), json_body=False)[0] == [("g", {"service_name": "shop"}, "gauge", 3.0)]


def test_a_full_answer_has_no_partial_success():
    assert not otlp.response(0, "").HasField("partial_success")


@pytest.mark.parametrize("body, json_body", [(b"{not json", True), (b"\xff\xff\xff", False)])
def test_a_body_that_is_not_a_request_is_a_400(body, json_body):
    with pytest.raises(ApiError, match="not an OTLP ExportMetricsServiceRequest") as caught:
        otlp.decode(body, json_body)
    assert caught.value.status == 400



def test_keys_that_become_one_label_name_are_refused_naming_both():
    body = request({"name": "n", "gauge": {"dataPoints": [{"timeUnixNano": T, "asDouble": 1, "attributes": [
        {"key": "a.b", "value": {"stringValue": "x"}}, {"key": "a_b", "value": {"stringValue": "y"}}]}]}})
    with pytest.raises(ApiError, match="keys 'a.b' and 'a_b' are both label 'a_b'"):
        series(body)


def test_a_histogram_with_more_buckets_than_allowed_is_refused_before_its_series_are_made():
    bounds = list(range(10_000))
    body = request({"name": "h", "histogram": {"aggregationTemporality": 2, "dataPoints": [
        {"timeUnixNano": T, "count": "1", "explicitBounds": bounds, "bucketCounts": ["0"] * (len(bounds) + 1)}]}})
    with pytest.raises(ApiError, match=r"explicitBounds: 10001 buckets \(at most 256, max_buckets_per_point\)"):
        series(body)
