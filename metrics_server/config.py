"""Configuration: defaults, then a JSON file, then METRICS_SERVER_* environment variables, validated as one."""
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from metrics_server.model import MAX_BUCKETS
from metrics_server.protocols.graphite import parse_template

ENV_PREFIX = "METRICS_SERVER_"
# Variables of ours that are not settings: the config file's path, and the agents' token (metrics_server/agents).
NOT_SETTINGS = (ENV_PREFIX + "CONFIG", ENV_PREFIX + "TOKEN")
CONSISTENCY_LEVELS = ("ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM", "EACH_QUORUM", "LOCAL_ONE")


class ConfigError(ValueError):
    """Start-up must stop: the message names the key and what was expected, in one line."""


class ContactPoints(fields.Field):
    """A list of Cassandra hosts, given as a JSON list or a comma-separated string."""

    def _deserialize(self, value, attr, data, **kwargs):
        hosts = value.split(",") if isinstance(value, str) else value
        if not isinstance(hosts, list) or not all(isinstance(host, str) for host in hosts):
            raise ValidationError("expected a list of host names or a comma-separated string of them")
        hosts = [host.strip() for host in hosts if host.strip()]
        if not hosts:
            raise ValidationError("expected at least one Cassandra host")
        return hosts


class Replication(fields.Field):
    """A replication factor (SimpleStrategy) or 'dc1:3,dc2:3' (NetworkTopologyStrategy), as a CQL map."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = str(value).strip()
        if text.isdigit() and int(text) > 0:
            return {"class": "SimpleStrategy", "replication_factor": int(text)}
        try:
            factors = {dc.strip(): int(rf) for dc, rf in (part.split(":") for part in text.split(","))}
        except ValueError:
            factors = {}
        if not factors or not all(dc and rf > 0 for dc, rf in factors.items()):
            raise ValidationError("expected a replication factor such as 3, or datacenters such as 'dc1:3,dc2:3'")
        return {"class": "NetworkTopologyStrategy", **factors}


class Urls(fields.Field):
    """A list of http(s) URLs, given as a JSON list or a comma-separated string (empty: none)."""

    def _deserialize(self, value, attr, data, **kwargs):
        urls = value.split(",") if isinstance(value, str) else value
        if not isinstance(urls, list) or not all(isinstance(url, str) for url in urls):
            raise ValidationError("expected a list of URLs or a comma-separated string of them")
        urls = [url.strip() for url in urls if url.strip()]
        bad = [url for url in urls if not url.startswith(("http://", "https://"))]
        if bad:
            raise ValidationError(f"expected http:// or https:// URLs, got {bad[0]!r}")
        return urls


class GraphiteTemplates(fields.Field):
    """Graphite templates (protocols/graphite.py), given as a JSON list or a comma-separated string, each
    checked at start-up."""

    def _deserialize(self, value, attr, data, **kwargs):
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise ValidationError("expected a list of '[filter ]template' strings or a comma-separated string of them")
        items = [item.strip() for item in items if item.strip()]
        for item in items:
            try:
                parse_template(item)
            except ValueError as error:
                raise ValidationError(str(error)) from None
        return items


def long_secret(value: str) -> None:
    """Empty (none), or long enough not to be guessed."""
    if value and not 32 <= len(value) <= 512:
        raise ValidationError("expected 32 to 512 characters (use a random token), or empty")


def _int(low: int, high: int, **kwargs) -> fields.Integer:
    return fields.Integer(
        strict=False, validate=validate.Range(low, high, error=f"expected an integer from {low} to {high}"),
        error_messages={"invalid": f"expected an integer from {low} to {high}"}, **kwargs)


def _consistency(default: str) -> fields.String:
    return fields.String(
        load_default=default,
        validate=validate.OneOf(CONSISTENCY_LEVELS, error="expected one of " + ", ".join(CONSISTENCY_LEVELS)))


class ConfigSchema(Schema):
    """Every configuration key; the README's table and example_config.json list the same keys."""

    class Meta:
        unknown = RAISE

    cassandra = ContactPoints(load_default=lambda: ["127.0.0.1"])
    cassandra_port = _int(1, 65535, load_default=9042)
    cassandra_username = fields.String(load_default="")
    cassandra_password = fields.String(load_default="")
    cassandra_local_dc = fields.String(load_default="")
    cassandra_timeout = fields.Float(
        load_default=10.0, validate=validate.Range(0.1, 600, error="expected seconds from 0.1 to 600"))
    keyspace = fields.String(
        load_default="metrics_server",
        validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,47}$", error="expected lower-case letters, digits and _"))
    replication = Replication(load_default=lambda: {"class": "SimpleStrategy", "replication_factor": 1})
    read_consistency = _consistency("LOCAL_QUORUM")
    write_consistency = _consistency("LOCAL_QUORUM")
    debug = fields.Boolean(load_default=False, truthy={"1", "true", "yes", "on", 1},
                           falsy={"0", "false", "no", "off", "", 0})
    host = fields.String(load_default="0.0.0.0")
    port = _int(1, 65535, load_default=8080)
    threads = _int(1, 256, load_default=4)
    max_body_bytes = _int(1024, 1 << 30, load_default=32 * 1024 * 1024)
    max_batch_points = _int(1, 1_000_000, load_default=100_000)
    auto_create_metrics = fields.Boolean(load_default=True, truthy={"1", "true", "yes", "on", 1},
                                         falsy={"0", "false", "no", "off", "", 0})
    partition_hours = _int(1, 24 * 31, load_default=24)
    default_retention_days = _int(0, 36500, load_default=0)
    alerting = fields.Boolean(load_default=True, truthy={"1", "true", "yes", "on", 1},
                              falsy={"0", "false", "no", "off", "", 0})
    alert_rules_file = fields.String(load_default="")
    alertmanagers = Urls(load_default=list)
    alert_webhooks = Urls(load_default=list)
    alert_resend_delay = fields.Float(
        load_default=60.0, validate=validate.Range(1, 86400, error="expected seconds from 1 to 86400"))
    alert_lease_seconds = _int(2, 3600, load_default=15)
    alert_history_days = _int(1, 3650, load_default=30)
    external_url = fields.String(load_default="")
    # Limits (issue 10), in the spirit of Mimir's defaults; README "Limits" says why each value.
    max_series_per_metric = _int(1, 10_000_000, load_default=20_000)
    max_new_series_per_request = _int(1, 1_000_000, load_default=10_000)
    max_new_metrics_per_request = _int(1, 100_000, load_default=1_000)
    max_metrics_per_token = _int(0, 10_000_000, load_default=10_000)  # 0: no cap
    max_series_per_token = _int(0, 1_000_000_000, load_default=1_000_000)  # 0: no cap
    max_label_names_per_series = _int(1, 32, load_default=32)
    max_buckets_per_point = _int(1, MAX_BUCKETS, load_default=256)
    max_quantiles = _int(1, 100, load_default=20)
    max_query_series = _int(1, 1_000_000, load_default=1_000)
    max_query_cells = _int(1, 100_000_000, load_default=2_000_000)
    max_query_reads = _int(1, 10_000_000, load_default=50_000)
    chunk_cache_bytes = _int(0, 1 << 40, load_default=128 * 1024 * 1024)  # storage/chunk_cache.py; 0: none
    query_timeout = fields.Float(
        load_default=30.0, validate=validate.Range(0.5, 110, error="expected seconds from 0.5 to 110 (nginx gives "
                                                   "up on an instance after 120 s)"))
    graphite_host = fields.String(load_default="127.0.0.1")
    graphite_port = _int(1, 65535, load_default=2003)
    graphite_templates = GraphiteTemplates(load_default=list)
    rate_limit = _int(0, 1_000_000, load_default=50)
    login_rate_limit = _int(1, 10_000, load_default=10)
    auth = fields.Boolean(load_default=True, truthy={"1", "true", "yes", "on", 1},
                          falsy={"0", "false", "no", "off", "", 0})
    admin_token = fields.String(load_default="", validate=long_secret)
    auth_cache_seconds = fields.Float(
        load_default=10.0, validate=validate.Range(0, 3600, error="expected seconds from 0 to 3600"))
    session_hours = _int(1, 24 * 90, load_default=12)
    token_rate_limit = _int(0, 1_000_000, load_default=200)
    # Write admission (issue 23, api/admission.py): refused writes answer 503 with Retry-After, never 429.
    token_write_rate_limit = _int(0, 100_000_000, load_default=200_000)
    max_write_wait = fields.Float(
        load_default=10.0, validate=validate.Range(0, 100, error="expected seconds from 0 (off) to 100 (nginx "
                                                   "gives up on an instance after 120 s)"))
    log_level = fields.String(
        load_default="INFO", validate=validate.OneOf(("DEBUG", "INFO", "WARNING", "ERROR"),
                                                     error="expected DEBUG, INFO, WARNING or ERROR"))


SCHEMA = ConfigSchema()
KEYS = tuple(SCHEMA.fields)
SECRET_KEYS = ("cassandra_password", "admin_token")  # never echoed in an error message


def env_name(key: str) -> str:
    """The environment variable that sets a key."""
    return ENV_PREFIX + key.upper()


def read_file(path: str | os.PathLike) -> dict[str, Any]:
    """The raw mapping in a JSON config file."""
    try:
        raw = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path}: not found") from None
    except (OSError, json.JSONDecodeError) as error:
        raise ConfigError(f"config file {path}: expected a JSON object ({error})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {path}: expected a JSON object, got {type(raw).__name__}")
    return raw


def load_config(path: str | os.PathLike | None = None, environ: Mapping[str, str] | None = None,
                **overrides: Any) -> dict[str, Any]:
    """Validated settings: environment over file over defaults (overrides, for tests, over all)."""
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = read_file(path) if path else {}
    sources = {key: f"{path}: {key}" for key in raw}
    unknown_env = sorted(name for name in environ if name.startswith(ENV_PREFIX)
                         and name[len(ENV_PREFIX):].lower() not in KEYS and name not in NOT_SETTINGS)
    if unknown_env:
        raise ConfigError(f"{unknown_env[0]}: unknown setting; expected one of "
                          + ", ".join(env_name(key) for key in KEYS))
    for key in KEYS:
        if env_name(key) in environ:
            raw[key] = environ[env_name(key)]
            sources[key] = env_name(key)
    raw.update(overrides)
    try:
        return SCHEMA.load(raw)
    except ValidationError as error:
        key, messages = next(iter(error.messages.items()))
        message = messages[0] if isinstance(messages, list) else messages
        if message == "Unknown field.":
            message = "unknown setting; expected one of " + ", ".join(KEYS)
        got = "a value" if key in SECRET_KEYS else repr(raw.get(key))
        raise ConfigError(f"{sources.get(key, key)}: {message} (got {got})") from None
