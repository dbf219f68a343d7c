"""Per-metric rules on a validated batch: the first bad item in request order, its first broken rule, exact words."""
import numpy as np
import pytest

from metrics_server.errors import ApiError
from metrics_server.ingest.columns import load_batch
from metrics_server.ingest.rules import points_of
from metrics_server.model import iso
from metrics_server.schemas import PointSchema, WriteItemSchema
from metrics_server.storage.registry import Metric, series_id

GAUGE = Metric(name="cpu", label_keys=("host",))
ENUM = Metric(name="door", type="enum", label_keys=("host",))


WRITE_SCHEMA = WriteItemSchema(many=True)


def error_of(metric, body, schema=WRITE_SCHEMA, indexed=True) -> str:
    batch = load_batch(body, schema)
    with pytest.raises(ApiError) as error:
        points_of(metric, batch, np.arange(len(batch)), indexed=indexed)
    return error.value.message


def test_the_first_bad_item_in_request_order_is_named():
    body = [{"name": "cpu", "labels": {"host": "a"}, "value": 1},
            {"name": "cpu", "labels": {"host": "a"}},
            {"name": "cpu", "labels": {}, "value": 1}]
    assert error_of(GAUGE, body).startswith("1.value: required for gauge metrics ('cpu': a gauge created ")


def test_labels_are_checked_before_the_required_field():
    body = [{"name": "cpu", "labels": {"host": "a"}, "value": 1}, {"name": "cpu", "labels": {"dc": "x"}}]
    assert error_of(GAUGE, body).startswith("1.labels: Labels must contain exactly these keys: ['host'] ('cpu': ")


def test_fields_of_other_types_are_refused():
    body = [{"name": "door", "labels": {"host": "a"}, "state": "open", "buckets": {"1": 2}}]
    assert error_of(ENUM, body).startswith("0.buckets: not allowed for enum metrics")
    body = [{"name": "cpu", "labels": {"host": "a"}, "value": 1, "state": "open"}]
    assert error_of(GAUGE, body).startswith("0.state: not allowed for gauge metrics")


def test_a_clash_names_who_made_the_metric_and_the_ways_out():
    demo = Metric(name="http_requests", type="counter", label_keys=("host",),
                  description="requests served since start (make demo)")
    body = [{"name": "http_requests", "labels": {"log": "nginx"}, "value": 1}]
    assert error_of(demo, body).endswith(
        "('http_requests': a counter created " + iso(demo.created_at) + ', described as "requests served since '
        'start (make demo)"; send what it takes, write under another name, or delete it first: '
        "DELETE /api/metrics/http_requests)")
    assert "made by a write of its first point" in error_of(GAUGE, [{"name": "cpu", "labels": {}, "value": 1}])


def test_one_point_errors_name_no_index():
    assert error_of(GAUGE, {"labels": {}, "value": 1}, PointSchema(), indexed=False).startswith(
        "Labels must contain exactly these keys: ['host'] (")


def test_points_of_one_metric_share_series_by_label_set():
    body = [{"name": "cpu", "labels": {"host": f"h{i % 2}"}, "value": i, "timestamp": 1_700_000_000 + i}
            for i in range(6)] + [{"name": "cpu", "value": 9, "labels": {"host": "h1"}}]
    batch = load_batch(body, WriteItemSchema(many=True))
    labels, points = points_of(GAUGE, batch, np.arange(1, 7))
    assert labels == {series_id({"host": "h1"}): {"host": "h1"}, series_id({"host": "h0"}): {"host": "h0"}}
    hosts = [f"h{i % 2}" for i in range(1, 6)] + ["h1"]
    assert [points.series[i] for i in points.series_index] == [series_id({"host": host}) for host in hosts]
    assert points.value.tolist() == [1, 2, 3, 4, 5, 9] and points.ts[:5].tolist() == [
        (1_700_000_000 + i) * 1000 for i in range(1, 6)]
