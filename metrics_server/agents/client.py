"""Sending points to metrics_server: one keep-alive HTTP connection per sender, a bearer token when auth is on.

`WRITERS` is the hook for the wire protocols (issue: protocols): a writer groups (metric, labels, timestamp s,
value) points into the requests its protocol takes and encodes one request body; JSON /api/write is the one every
server has. A protocol writer only has to provide `path`, `content_type`, `groups(points)` and `body(points)`.

A server takes or refuses a request whole (issue 25: one clashing series cost the tail agent every other metric
of its push). So a refused request is split, metric by metric and then series by series, until what the server
refuses is isolated and the rest is stored: `send` says what was stored and what was refused, with the reason.
"""
import email.utils
import http.client
import re
import time
import urllib.parse
from dataclasses import dataclass, field

import orjson

# Statuses about the request rather than its points: splitting the points would only repeat the refusal.
NOT_ABOUT_POINTS = (401, 404, 405)


class SendError(Exception):
    """A request that did not store its points: the server's answer (status, reason, Retry-After) or the network
    error."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status, self.retry_after = status, retry_after

    @property
    def retryable(self) -> bool:
        """Network errors, 429 and 5xx may succeed later; any other 4xx will not (the points are wrong)."""
        return self.status is None or self.status == 429 or self.status >= 500


@dataclass
class Delivery:
    """What one `send` achieved: points stored, and (series, points, the server's reason) for each refused part."""

    stored: int = 0
    refused: list[tuple[str, int, str]] = field(default_factory=list)

    @property
    def refused_points(self) -> int:
        return sum(count for _, count, _ in self.refused)


def retry_after(value: str | None) -> float | None:
    """Retry-After as seconds from now: a number of seconds or an HTTP date (RFC 9110); None when absent or bad."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def reason(payload) -> str:
    """The server's error message from its JSON envelope."""
    return (payload.get("error") if isinstance(payload, dict) else None) or "no error message"


def without_index(error: SendError) -> str:
    """A refusal's reason without the item number the server names ("3.labels: ..."), to compare two refusals."""
    return re.sub(r"^(HTTP \d+: )\d+\.", r"\1", str(error))


def series_name(name: str, labels: tuple) -> str:
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in labels) + "}"


class JsonWriter:
    """POST /api/write: gauges and counters as series items (times and values as lists), histograms and enums as
    points; the API takes one kind per request, so `groups` yields up to two."""

    path = "/api/write"
    content_type = "application/json"

    def groups(self, points) -> list[list]:
        numbers = [p for p in points if not isinstance(p[3], (dict, str))]
        others = [p for p in points if isinstance(p[3], (dict, str))]
        return [group for group in (numbers, others) if group]

    def body(self, points) -> bytes:
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
        return orjson.dumps(singles or [{"name": name, "labels": dict(labels), "timestamps": t, "values": v}
                                        for (name, labels), (t, v) in series.items()])


WRITERS = {"json": JsonWriter}


def halves(points) -> tuple[list, list]:
    """The points of several metrics in two parts, each metric whole in one of them."""
    metrics = sorted({p[0] for p in points})
    first = set(metrics[:len(metrics) // 2])
    return [p for p in points if p[0] in first], [p for p in points if p[0] not in first]


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
        """One request; returns (status, parsed JSON body, Retry-After seconds or None); raises SendError on a
        network error."""
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
        return response.status, payload, retry_after(response.getheader("Retry-After"))

    def send(self, points) -> Delivery:
        """Store points; a refused request is split until the refused series are isolated and the rest stored.
        Raises SendError when the server (or the network) asks to try again later: nothing is lost by resending
        what was already stored, since a point is keyed by metric + series + timestamp."""
        delivery = Delivery()
        for group in self.writer.groups(points):
            self._deliver(group, delivery)
        return delivery

    def _deliver(self, points, delivery: Delivery) -> None:
        error = self._post(points)
        if error is None:
            delivery.stored += len(points)
            return
        series = {p[:2] for p in points}
        if error.status in NOT_ABOUT_POINTS or len(series) == 1:
            where = series_name(*next(iter(series))) if len(series) == 1 else f"{len(series)} series"
            delivery.refused.append((where, len(points), str(error)))
        elif len({p[0] for p in points}) > 1:
            for part in halves(points):
                self._deliver(part, delivery)
        else:
            self._probe(points, error, delivery)

    def _probe(self, points, error: "SendError", delivery: Delivery) -> None:
        """One metric's series refused together: send its first series alone. Refused for the same reason, the
        metric itself is what the server refuses (its type or label keys: every series alike), so the rest is not
        tried series by series (a clash once cost a hundred requests per push); otherwise split the rest."""
        first = min(p[1] for p in points)
        alone, rest = [p for p in points if p[1] == first], [p for p in points if p[1] != first]
        again = self._post(alone)
        if again is not None and without_index(again) == without_index(error):
            delivery.refused.append((f"{points[0][0]} (every series)", len(points), str(again)))
            return
        if again is None:
            delivery.stored += len(alone)
        else:
            delivery.refused.append((series_name(points[0][0], first), len(alone), str(again)))
        self._deliver(rest, delivery)

    def _post(self, points) -> "SendError | None":
        """One write request; None when stored, the refusal when refused for good; raises what may be retried."""
        status, payload, wait = self.request("POST", self.writer.path, self.writer.body(points),
                                             self.writer.content_type)
        if status < 300:
            return None
        error = SendError(f"HTTP {status}: {reason(payload)}", status, wait)
        if error.retryable:
            raise error
        return error

    def define(self, name: str, type_: str, label_keys, unit: str = "", description: str = "") -> None:
        """Create a metric unless it exists as defined; one that exists with another type or other label keys is
        refused for good (SendError naming what exists, who made it and how to resolve it). Histograms and enums
        need their definition before their points."""
        body = orjson.dumps({"name": name, "type": type_, "label_keys": list(label_keys), "unit": unit,
                             "description": description})
        status, payload, wait = self.request("POST", "/api/metrics", body)
        if status == 409:
            status, payload, wait = self.request("GET", "/api/metrics/" + urllib.parse.quote(name, safe=""))
            if status < 300:
                clash = definition_clash(payload, type_, label_keys)
                if clash:
                    raise SendError(f"defining {name}: {clash}", 409)
                return
        if status >= 300:
            raise SendError(f"defining {name}: HTTP {status}: {reason(payload)}", status, wait)

    def put_rule_group(self, group: dict) -> None:
        """Create or replace an alert rule group on the server (PUT /api/alerts/rules/<name>)."""
        path = "/api/alerts/rules/" + urllib.parse.quote(group["name"], safe="")
        status, payload, wait = self.request("PUT", path, orjson.dumps(group))
        if status >= 300:
            raise SendError(f"rule group {group['name']}: HTTP {status}: {reason(payload)}", status, wait)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def definition_clash(existing: dict, type_: str, label_keys) -> str | None:
    """Why a metric the server has cannot take points defined as (type_, label_keys), naming who made it (its
    description) and the ways out; None when they agree (a metric with open labels takes any keys)."""
    same_keys = existing.get("open_labels") or sorted(existing.get("label_keys", [])) == sorted(label_keys)
    if existing.get("type") == type_ and same_keys:
        return None
    made_by = existing.get("description") or "no description: created by a write of its first point"
    return (f"the server already has it as a {existing.get('type')} with label keys {existing.get('label_keys')} "
            f"(created {existing.get('created_at')}: {made_by}), this program needs a {type_} with label keys "
            f"{sorted(label_keys)}; give this program's metrics another name (tail: --metric-prefix, simulate: "
            f"--prefix) or, if that metric's data is not needed, delete it "
            f"(DELETE /api/metrics/{existing.get('name')})")
