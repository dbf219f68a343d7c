"""Configuration: environment over file over defaults, and one clear line for anything wrong."""
import json

import pytest

from metrics_server.config import KEYS, ConfigError, env_name, load_config


def test_example_config_shows_every_key_and_loads(tmp_path):
    with open("example_config.json") as file:
        example = json.load(file)
    assert sorted(example) == sorted(KEYS)
    assert load_config("example_config.json", environ={})["port"] == 8080


def test_environment_beats_file_beats_defaults(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"port": 9000, "threads": 8, "keyspace": "from_file"}))
    config = load_config(path, environ={"METRICS_SERVER_PORT": "9100", "METRICS_SERVER_CASSANDRA": "a, b,c",
                                        "METRICS_SERVER_DEBUG": "yes", "METRICS_SERVER_REPLICATION": "dc1:3,dc2:2"})
    assert (config["port"], config["threads"], config["keyspace"]) == (9100, 8, "from_file")
    assert config["cassandra"] == ["a", "b", "c"] and config["debug"] is True
    assert config["replication"] == {"class": "NetworkTopologyStrategy", "dc1": 3, "dc2": 2}
    assert load_config(environ={})["host"] == "0.0.0.0"


@pytest.mark.parametrize("environ, file, expected", [
    ({"METRICS_SERVER_PORT": "notanumber"}, None, "METRICS_SERVER_PORT: expected an integer from 1 to 65535"),
    ({"METRICS_SERVER_THREADS": "0"}, None, "METRICS_SERVER_THREADS: expected an integer from 1 to 256"),
    ({"METRICS_SERVER_DEBUG": "maybe"}, None, "METRICS_SERVER_DEBUG"),
    ({"METRICS_SERVER_READ_CONSISTENCY": "MOST"}, None, "expected one of ONE"),
    ({"METRICS_SERVER_REPLICATION": "x"}, None, "expected a replication factor"),
    ({"METRICS_SERVER_PORTT": "1"}, None, "METRICS_SERVER_PORTT: unknown setting"),
    ({}, {"colour": "red"}, "colour: unknown setting"),
    ({}, "{not json", "expected a JSON object"),
    ({}, "[1, 2]", "expected a JSON object, got list"),
])
def test_bad_settings_name_the_key(tmp_path, environ, file, expected):
    path = None
    if file is not None:
        path = tmp_path / "config.json"
        path.write_text(file if isinstance(file, str) else json.dumps(file))
    with pytest.raises(ConfigError) as error:
        load_config(path, environ=environ)
    assert expected in str(error.value) and "\n" not in str(error.value)


def test_every_key_has_an_environment_variable():
    assert env_name("cassandra_local_dc") == "METRICS_SERVER_CASSANDRA_LOCAL_DC"
    for key in KEYS:
        assert key in load_config(environ={env_name("log_level"): "DEBUG"})
