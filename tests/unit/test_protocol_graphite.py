"""Graphite plaintext lines and templates."""
import math

import pytest

from metrics_server.protocols.graphite import parse_line, parse_template

NOW = 1_700_000_000_500
COLLECTD = [parse_template("collectd.* .host.name*")]


def test_a_path_is_the_metric_name_as_it_is():
    assert parse_line("servers.web-1.cpu 42.5 1700000000", NOW, []) == ("servers.web-1.cpu", {}, 1_700_000_000_000, 42.5)


def test_minus_one_means_now_and_fractional_seconds_keep_milliseconds():
    assert parse_line("a.b 1 -1", NOW, [])[2] == NOW
    assert parse_line("a.b 1 1700000000.25", NOW, [])[2] == 1_700_000_000_250


def test_tags_after_semicolons_are_labels():
    assert parse_line("disk.used;host=a;dc=x 3 1", NOW, []) == ("disk.used", {"host": "a", "dc": "x"}, 1000, 3.0)


def test_a_template_maps_nodes_to_labels_and_the_rest_to_the_name():
    line = "collectd.web-1.load.load.shortterm 6.1 1700000000"
    assert parse_line(line, NOW, COLLECTD) == ("load.load.shortterm", {"host": "web-1"}, 1_700_000_000_000, 6.1)


def test_a_template_applies_only_where_its_filter_matches():
    assert parse_line("other.web-1.x 1 1", NOW, COLLECTD)[0] == "other.web-1.x"


def test_nodes_past_a_template_without_a_star_join_the_name():
    template = [parse_template("region.host.name")]
    assert parse_line("eu.h1.cpu.user 1 1", NOW, template)[:2] == ("cpu.user", {"region": "eu", "host": "h1"})


def test_nan_values_come_back_as_nan_for_the_listener_to_skip():
    assert math.isnan(parse_line("a.b nan 1", NOW, [])[3])


@pytest.mark.parametrize("line, message", [
    ("a.b 1", "expected 'path value timestamp'"),
    ("a.b x 1", "could not convert"),
    ("a.b inf 1", "not finite"),
    ("a..b 1 1", "empty node"),
    ("a.b;host 1 1", "tag 'host'"),
])
def test_bad_lines_raise_a_reason(line, message):
    with pytest.raises(ValueError, match=message):
        parse_line(line, NOW, [])


@pytest.mark.parametrize("text, message", [("a b c", "expected"), ("host.dc", "no name node"),
                                           ("bad-key.name", "template node 'bad-key'")])
def test_bad_templates_are_refused_with_the_reason(text, message):
    with pytest.raises(ValueError, match=message):
        parse_template(text)
