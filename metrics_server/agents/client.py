"""Sending points to metrics_server: one keep-alive HTTP connection per sender, a bearer token when auth is on.

`WRITERS` is the hook for the wire protocols (issue: protocols): a writer turns (metric, labels, timestamp s,
value) points into one request body; JSON /api/write is the one every server has. A protocol writer only has to
provide `path`, `content_type` and `body(points)`.
"""
import http.client
import urllib.parse
from dataclasses import dataclass

import orjson


class SendError(Exception):
    """A request that did not store its points: the server's answer (status and error) or the network error."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status

    @property
    def retryable(self) -> bool:
        """Network errors, 429 and 5xx may succeed later; any other 4xx will not (the points are wrong)."""
        return self.status is None or self.status == 429 or self.status >= 500


class JsonWriter:
    """POST /api/write: gauges and counters as series items (times and values as lists), histograms and enums as
    points; the API takes one kind per request, so `bodies` yields up to two."""

    path = "/api/write"
    content_type = "application/json"

    def bodies(self, points) -> list[bytes]:
        series, singles = {}, []
        for name, labels, ts, value in points:
            if isinstance(value, dict):
                singles.append({"name": name, "labels": dict(labels), "timestamp": ts, "buckets": value})
            elif isinstance(value, str):
                singles.append({"name": name, "labels": dict(labels), "timestamp": ts, "state": value})
            else:
                times, values = series.setdefault((name, labels), ([], []))
                times.append(ts)
                values.append(value)
        out = []
        if series:
            out.append(orjson.dumps([{"name": name, "labels": dict(labels), "timestamps": t, "values": v}
                                     for (name, labels), (t, v) in series.items()]))
        if singles:
            out.append(orjson.dumps(singles))
        return out


WRITERS = {"json": JsonWriter}


@dataclass
class Client:
    """A connection to one server URL (http or https), reopened after any error."""

    url: str
    token: str | None = None
    timeout: float = 10.0
    protocol: str = "json"

    def __post_init__(self):
        parts = urllib.parse.urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"--url: expected http://host:port, got {self.url!r}")
        self.scheme, self.host, self.port, self.base = parts.scheme, parts.hostname, parts.port, parts.path.rstrip("/")
        self.writer = WRITERS[self.protocol]()
        self.connection = None

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str = "application/json"):
        """One request; returns (status, parsed JSON body); raises SendError on a network error."""
        headers = {"Content-Type": content_type} if body is not None else {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.connection is None:
            kind = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
            self.connection = kind(self.host, self.port, timeout=self.timeout)
        try:
            self.connection.request(method, self.base + path, body=body, headers=headers)
            response = self.connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.close()
            raise SendError(f"{self.url}: {error or type(error).__name__}") from None
        try:
            payload = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            payload = None
        return response.status, payload

    def send(self, points) -> int:
        """Store points (all or, per body, none); returns how many; raises SendError naming the server's reason."""
        for body in self.writer.bodies(points):
            status, payload = self.request("POST", self.writer.path, body, self.writer.content_type)
            if status >= 300:
                reason = payload.get("error") if isinstance(payload, dict) else None
                raise SendError(f"HTTP {status}: {reason or 'no error message'}", status)
        return len(points)

    def define(self, name: str, type_: str, label_keys, unit: str = "", description: str = "") -> None:
        """Create a metric unless it exists (409 is fine): histograms and enums need it before their points."""
        body = orjson.dumps({"name": name, "type": type_, "label_keys": list(label_keys), "unit": unit,
                             "description": description})
        status, payload = self.request("POST", "/api/metrics", body)
        if status >= 300 and status != 409:
            reason = payload.get("error") if isinstance(payload, dict) else None
            raise SendError(f"defining {name}: HTTP {status}: {reason}", status)

    def put_rule_group(self, group: dict) -> None:
        """Create or replace an alert rule group on the server (PUT /api/alerts/rules/<name>)."""
        path = "/api/alerts/rules/" + urllib.parse.quote(group["name"], safe="")
        status, payload = self.request("PUT", path, orjson.dumps(group))
        if status >= 300:
            reason = payload.get("error") if isinstance(payload, dict) else None
            raise SendError(f"rule group {group['name']}: HTTP {status}: {reason}", status)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None
