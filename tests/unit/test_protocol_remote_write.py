"""remote_write decoding: snappy block + WriteRequest, stale markers, metadata, names and types."""
import struct

import cramjam
import pytest

from metrics_server.errors import ApiError
from metrics_server.ingest.columns import absent
from metrics_server.ingest.samples import to_batch
from metrics_server.protocols import remote_write
from metrics_server.protocols.prometheus import is_stale, label_name, metric_type

STALE = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]


def received(*series, metadata=()):
    """The WriteRequest a receiver decodes from these series and metadata."""
    return remote_write.decode(remote_write.encode(series, metadata), 1 << 20)


def test_a_snappy_block_decodes_to_samples_named_by_dunder_name():
    decoded = received(({"__name__": "up", "job": "prom"}, [(1000, 1.0), (2000, 0.0)]))
    samples = remote_write.samples(decoded)
    assert samples.names == ["up"] and samples.labels == [{"job": "prom"}]
    assert samples.ts == [1000, 2000] and samples.values == [1.0, 0.0]


def test_stale_markers_nans_and_infinities_are_samples_kept_to_the_bit():
    decoded = received(({"__name__": "x"}, [(1, 1.0), (2, STALE), (3, float("nan")), (4, float("inf"))]))
    samples = remote_write.samples(decoded)
    assert samples.ts == [1, 2, 3, 4] and samples.skipped == {}
    assert is_stale(samples.values).tolist() == [False, True, False, False] and samples.values[3] == float("inf")


def test_the_stale_marker_is_told_from_an_ordinary_nan():
    assert is_stale([STALE, float("nan"), 1.0]).tolist() == [True, False, False]


def test_a_metadata_only_request_has_no_samples_but_its_families():
    decoded = received(metadata=[(1, "reqs_total", "requests")])
    assert len(remote_write.samples(decoded)) == 0
    assert remote_write.families(decoded)["reqs_total"].type == "counter"


@pytest.mark.parametrize("name, labels, families, expected", [
    ("http_requests_total", {}, {}, "counter"),
    ("latency_bucket", {"le": "0.5"}, {}, "counter"),
    ("latency_bucket", {}, {}, "gauge"),
    ("latency_count", {}, {"latency": "histogram"}, "counter"),
    ("rpc_sum", {}, {"rpc": "summary"}, "counter"),
    ("rpc", {"quantile": "0.5"}, {"rpc": "summary"}, "gauge"),
    ("odd_total", {}, {"odd_total": "gauge"}, "gauge"),
    ("go_goroutines", {}, {}, "gauge"),
])
def test_metric_type_comes_from_metadata_then_the_naming_convention(name, labels, families, expected):
    assert metric_type(name, labels, families.get) == expected


def test_otlp_attribute_keys_become_label_names():
    assert label_name("service.name") == "service_name" and label_name("9lives") == "_9lives"


def test_a_series_without_a_name_is_a_400_naming_it():
    decoded = received(({"job": "a"}, [(1, 1.0)]))
    with pytest.raises(ApiError, match=r"timeseries 0: labels.__name__: missing"):
        remote_write.samples(decoded)


def test_a_bad_label_name_is_a_400_naming_the_series():
    decoded = received(({"__name__": "ok"}, [(1, 1.0)]),
                       ({"__name__": "up", "bad-key": "v"}, [(1, 1.0)]))
    with pytest.raises(ApiError, match=r"timeseries 1 \(up\): labels.bad-key: not a valid label name"):
        to_batch(remote_write.samples(decoded), 1000, 32)


def test_infinities_and_nans_are_values_of_the_batch_not_absent_values():
    decoded = received(({"__name__": "up"}, [(1, float("inf")), (2, -float("inf")), (3, float("nan")), (4, STALE)]))
    batch = to_batch(remote_write.samples(decoded), 1000, 32)
    assert batch.value[:2].tolist() == [float("inf"), -float("inf")]
    assert not absent(batch.value).any() and is_stale(batch.value).tolist() == [False, False, False, True]


def test_more_label_names_than_the_limit_is_a_400_naming_the_series():
    decoded = received(({"__name__": "up", **{f"k{i}": "v" for i in range(5)}}, [(1, 1.0)]))
    with pytest.raises(ApiError, match=r"timeseries 0 \(up\): labels: 5 label names \(at most 4"):
        to_batch(remote_write.samples(decoded), 1000, 4)


def test_more_samples_than_max_batch_points_is_a_400():
    decoded = received(({"__name__": "up"}, [(t, 1.0) for t in range(1, 12)]))
    with pytest.raises(ApiError, match="at most 10 samples"):
        to_batch(remote_write.samples(decoded), 10, 32)


def test_the_batch_keeps_each_series_as_one_item():
    decoded = received(({"__name__": "a", "h": "1"}, [(1000, 1.0), (2000, 2.0)]),
                       ({"__name__": "b", "h": "1"}, [(1000, 3.0)]))
    batch = to_batch(remote_write.samples(decoded), 1000, 32)
    assert batch.names == ["a", "b"] and batch.item_of.tolist() == [0, 0, 1]  # a name per item (series)
    assert [(name, positions.tolist()) for name, positions in batch.by_name()] == [("a", [0, 1]), ("b", [2])]
    assert batch.label_sets == [{"h": "1"}] and batch.labels.tolist() == [0, 0, 0]
    assert batch.ts.tolist() == [1000, 2000, 1000] and batch.value.tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("raw, message", [
    (b"", "empty"),
    (b"\x05not snappy at all", "not a snappy block"),
    (bytes(cramjam.snappy.compress_raw(b"\xff\xff\xff")), "not a protobuf WriteRequest"),
])
def test_a_body_that_is_not_a_write_request_is_a_400(raw, message):
    with pytest.raises(ApiError, match=message) as caught:
        remote_write.decode(raw, 1 << 20)
    assert caught.value.status == 400


def test_a_body_that_unpacks_past_the_limit_is_refused_before_unpacking():
    big = bytes(cramjam.snappy.compress_raw(b"\0" * 10_000))
    with pytest.raises(ApiError, match="exceeds 1000 bytes") as caught:
        remote_write.decode(big, 1000)
    assert caught.value.status == 413


def test_native_histograms_are_a_400_not_a_silent_drop():
    message = remote_write.WriteRequest()
    series = message.timeseries.add()
    series.labels.add(name="__name__", value="h")
    series.histograms.append(b"\x08\x01")
    with pytest.raises(ApiError, match="native histograms are not supported"):
        remote_write.samples(remote_write.decode(bytes(cramjam.snappy.compress_raw(message.SerializeToString())), 1 << 20))


def test_a_series_sent_again_is_looked_up_by_its_label_bytes_not_decoded_again():
    identities = remote_write.Identities()
    first = remote_write.samples(received(({"__name__": "up", "job": "a"}, [(1, 1.0)])), identities=identities)
    again = remote_write.samples(received(({"__name__": "up", "job": "a"}, [(2, 1.0)])), identities=identities)
    assert again.names == ["up"] and again.labels == [{"job": "a"}] and again.labels[0] is first.labels[0]
    assert len(identities.known) == 1


def test_the_identities_remembered_are_bounded():
    identities = remote_write.Identities(most=2)
    for job in "abcde":
        remote_write.samples(received(({"__name__": "up", "job": job}, [(1, 1.0)])), identities=identities)
    assert len(identities.known) <= 2


def test_a_label_value_that_is_not_utf8_is_a_400_naming_the_series():
    label = b"\x0a\x03job\x12\x02\xff\xfe"  # Label{name: "job", value: <not UTF-8>}
    series = b"\x0a" + bytes([len(label)]) + label + b"\x12\x02\x10\x01"
    body = bytes(cramjam.snappy.compress_raw(b"\x0a" + bytes([len(series)]) + series))
    with pytest.raises(ApiError, match=r"timeseries 0: labels: not a protobuf Label") as caught:
        remote_write.samples(remote_write.decode(body, 1 << 20))
    assert caught.value.status == 400
