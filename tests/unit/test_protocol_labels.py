"""Every protocol's samples meet /api/write's rules for label values: control characters are refused through
remote_write, Influx and OTLP with the words /api/write uses (issue 21: NUL, CR, LF and ESC were stored)."""
import json

import pytest

from metrics_server.errors import ApiError
from metrics_server.ingest.samples import to_batch
from metrics_server.model import CONTROL_REFUSED
from metrics_server.protocols import influx, otlp, remote_write
from metrics_server.schemas import WriteItemSchema


def from_remote_write(value: str):
    body = remote_write.encode([({"__name__": "up", "job": value}, [(1_700_000_000_000, 1.0)])])
    return remote_write.samples(remote_write.decode(body, 1 << 20))


def from_influx(value: str):
    escaped = value.replace(" ", "\\ ")
    return influx.parse(f"cpu,host={escaped} value=1 1700000000000000000", "ns", 0)


def from_otlp(value: str):
    body = json.dumps({"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "n", "gauge": {"dataPoints": [
        {"timeUnixNano": "1700000000000000000", "asDouble": 1,
         "attributes": [{"key": "host", "value": {"stringValue": value}}]}]}}]}]}]}).encode()
    return otlp.samples(otlp.decode(body, True), 0, 256)[0]


@pytest.mark.parametrize("parse", [from_remote_write, from_influx, from_otlp])
@pytest.mark.parametrize("character", ["\x00", "\r", "\n", "\x1b", "\t", "\x7f"])
def test_control_characters_in_label_values_are_refused_as_api_write_refuses_them(parse, character):
    try:
        samples = parse(f"a{character}b")
    except ApiError as error:  # a parser that cannot even read the line says so first
        assert error.status == 400
        return
    with pytest.raises(ApiError) as error:
        to_batch(samples, 1000, 32)
    assert error.value.status == 400 and error.value.message.endswith(CONTROL_REFUSED)
    assert CONTROL_REFUSED in str(WriteItemSchema().validate({"name": "n", "value": 1, "labels": {"h": "a\x00b"}}))


@pytest.mark.parametrize("parse", [from_remote_write, from_influx, from_otlp])
def test_printable_label_values_pass(parse):
    assert len(to_batch(parse("web-1 ä"), 1000, 32)) == 1
