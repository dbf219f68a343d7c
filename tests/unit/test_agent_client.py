"""The agents' client without a server: how refused batches are split, Retry-After read, clashes described."""
import email.utils
import time

import orjson
import pytest

from metrics_server.agents.cli import build_parser
from metrics_server.agents.client import JsonWriter, SendError, definition_clash, halves, retry_after, without_index
from metrics_server.agents.tail import DEFINITIONS, definitions

HOST_A, HOST_B = (("host", "a"),), (("host", "b"),)


def test_a_split_keeps_each_metric_whole_in_one_half():
    points = [("cpu", HOST_A, 1, 1.0), ("mem", HOST_A, 1, 2.0), ("cpu", HOST_B, 2, 3.0), ("disk", HOST_A, 1, 4.0)]
    first, second = halves(points)
    assert {p[0] for p in first} == {"cpu"} and {p[0] for p in second} == {"disk", "mem"}
    assert sorted(first + second) == sorted(points)


def test_numbers_and_other_values_go_in_separate_requests():
    points = [("cpu", HOST_A, 1, 1.0), ("state", HOST_A, 1, "ok"), ("cpu", HOST_A, 2, 2.0),
              ("latency", HOST_A, 1, {"0.1": 3, "+inf": 0})]
    numbers, others = JsonWriter().groups(points)
    assert orjson.loads(JsonWriter().body(numbers)) == [
        {"name": "cpu", "labels": {"host": "a"}, "timestamps": [1, 2], "values": [1.0, 2.0]}]
    assert [item.get("state") or item.get("buckets") for item in orjson.loads(JsonWriter().body(others))] == [
        "ok", {"0.1": 3, "+inf": 0}]


def test_retry_after_takes_seconds_or_an_http_date():
    assert retry_after("3") == 3.0
    assert 8 < retry_after(email.utils.formatdate(time.time() + 10, usegmt=True)) <= 10
    assert retry_after(None) is None and retry_after("soon") is None


def test_refusals_of_two_items_for_one_reason_compare_equal():
    first = SendError("HTTP 400: 3.labels: Labels must contain exactly these keys: ['host']", 400)
    again = SendError("HTTP 400: 0.labels: Labels must contain exactly these keys: ['host']", 400)
    assert without_index(first) == without_index(again) != without_index(SendError("HTTP 400: 0.value: bad", 400))


def test_only_network_errors_429_and_5xx_are_retried():
    assert SendError("down").retryable and SendError("", 429).retryable and SendError("", 503).retryable
    assert not SendError("", 400).retryable and not SendError("", 403).retryable


def test_a_clash_names_what_exists_who_made_it_and_the_ways_out():
    demo = {"name": "http_requests", "type": "counter", "label_keys": ["host"], "created_at": "2026-12-05T08:00:00Z",
            "description": "requests served since start (make demo)"}
    text = definition_clash(demo, "gauge", ["log", "section"])
    assert text.startswith("the server already has it as a counter with label keys ['host'] (created "
                           "2026-12-05T08:00:00Z: requests served since start (make demo)), this program needs a "
                           "gauge with label keys ['log', 'section']")
    assert "--metric-prefix" in text and "DELETE /api/metrics/http_requests" in text
    assert definition_clash(demo, "counter", ["host"]) is None
    assert definition_clash({**demo, "open_labels": True, "label_keys": []}, "counter", ["job"]) is None


def test_a_metric_prefix_must_start_a_valid_name():
    parser = build_parser()
    assert parser.parse_args(["tail", "x.log", "--metric-prefix", "nginx_"]).metric_prefix == "nginx_"
    assert parser.parse_args(["tail", "x.log"]).metric_prefix == ""
    with pytest.raises(SystemExit):
        parser.parse_args(["tail", "x.log", "--metric-prefix", "9 bad"])


def test_the_tail_agent_signs_and_prefixes_every_metric_it_defines():
    defined = definitions("nginx_", "nginx")
    assert [d[0] for d in defined] == ["nginx_" + d[0] for d in DEFINITIONS]
    assert all(d[4].endswith("(metrics-server tail --name nginx)") for d in defined)
