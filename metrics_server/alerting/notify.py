"""Deliveries: alerts to Alertmanager-compatible receivers (POST /api/v2/alerts, the spec's alert format) and
announcements to webhooks (Alertmanager's version 4 payload), each receiver on its own thread and queue.

The evaluator only enqueues (never waits on a receiver); an Alertmanager's sender takes what is queued,
across groups, and posts it in batches of up to MAX_BATCH alerts, as Prometheus' notifier does; each post is
tried a bounded number of times with exponential backoff; every attempt is recorded (the API lists them) and
counted in the self-metrics. A receiver that answers 4xx (but 429) gets no retry: the same body would be
refused again.
"""
import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from metrics_server.alerting import state as sm
from metrics_server.alerting.rules import iso

log = logging.getLogger(__name__)
ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt of an alert still firing, in webhooks
QUEUE_SIZE = 1000
MAX_BATCH = 64  # alerts per POST to an Alertmanager, Prometheus' notifier maxBatchSize


@dataclass(frozen=True)
class Receiver:
    """Where notifications go: kind is 'alertmanager' (url is its base) or 'webhook' (url is the endpoint)."""

    name: str
    kind: str
    url: str

    @property
    def endpoint(self) -> str:
        return self.url.rstrip("/") + "/api/v2/alerts" if self.kind == "alertmanager" else self.url


def generator_url(external_url: str, expr: str) -> str:
    """A link that shows the rule's expression evaluated (the spec's generatorURL)."""
    return f"{external_url.rstrip('/')}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"


def alertmanager_alert(alert: sm.Alert, expr: str, external_url: str) -> dict[str, Any]:
    """The spec's alert format: startsAt = FiredAt, endsAt = ResolvedAt or the validity of this send."""
    out = {"labels": alert.labels, "startsAt": iso(alert.fired_at), "endsAt": iso(sm.ends_at(alert)),
           "generatorURL": generator_url(external_url, expr)}
    if alert.annotations:
        out["annotations"] = alert.annotations
    return out


def webhook_payload(receiver: str, alertname: str, alerts: list[tuple[sm.Alert, str]],
                    external_url: str) -> dict[str, Any]:
    """Alertmanager's webhook body, version 4, for the alerts of one rule (grouped by alertname)."""
    items = []
    for alert, expr in alerts:
        resolved = alert.state == sm.INACTIVE
        items.append({
            "status": "resolved" if resolved else "firing", "labels": alert.labels,
            "annotations": alert.annotations, "startsAt": iso(alert.fired_at),
            "endsAt": iso(alert.resolved_at) if resolved else ZERO_TIME,
            "generatorURL": generator_url(external_url, expr), "fingerprint": sm.fingerprint(alert.labels),
        })

    def common(field: str) -> dict[str, str]:
        maps = [item[field] for item in items]
        return {k: v for k, v in maps[0].items() if all(m.get(k) == v for m in maps[1:])} if maps else {}

    return {
        "version": "4", "groupKey": f'{{}}:{{alertname="{alertname}"}}', "truncatedAlerts": 0,
        "status": "firing" if any(item["status"] == "firing" for item in items) else "resolved",
        "receiver": receiver, "groupLabels": {"alertname": alertname}, "commonLabels": common("labels"),
        "commonAnnotations": common("annotations"), "externalURL": external_url, "alerts": items,
    }


def batches(receiver: Receiver, payloads: list[tuple[Any, int]]) -> list[tuple[Any, int]]:
    """What to post: an Alertmanager's alert lists joined and cut in MAX_BATCH alerts; webhook bodies as they are."""
    if receiver.kind != "alertmanager":
        return payloads
    alerts = [alert for payload, _ in payloads for alert in payload]
    return [(alerts[i:i + MAX_BATCH], len(alerts[i:i + MAX_BATCH])) for i in range(0, len(alerts), MAX_BATCH)]


class Notifier:
    """One sender thread per receiver; `submit` returns at once."""

    def __init__(self, receivers: list[Receiver], record: Callable[..., None] | None = None,
                 on_result: Callable[[Receiver, bool], None] | None = None, attempts: int = 4,
                 backoff: float = 0.5, timeout: float = 5.0):
        self.receivers = receivers
        self.record = record
        self.on_result = on_result
        self.attempts, self.backoff, self.timeout = attempts, backoff, timeout
        self.queues = {receiver: queue.Queue(QUEUE_SIZE) for receiver in receivers}
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(receiver,), daemon=True,
                                         name=f"notify-{receiver.name}") for receiver in receivers]

    def start(self) -> "Notifier":
        for thread in self.threads:
            thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout)

    def submit(self, kind: str, payload: Any, count: int) -> None:
        """Queue a payload for every receiver of `kind`; a full queue drops its oldest payload (counted failed)."""
        for receiver, pending in self.queues.items():
            if receiver.kind != kind:
                continue
            while True:
                try:
                    pending.put_nowait((payload, count))
                    break
                except queue.Full:
                    try:
                        pending.get_nowait()
                        self._result(receiver, False)
                    except queue.Empty:
                        pass

    def idle(self) -> bool:
        """Nothing queued (tests and a clean stop wait for this)."""
        return all(pending.unfinished_tasks == 0 for pending in self.queues.values())

    def _run(self, receiver: Receiver) -> None:
        pending = self.queues[receiver]
        while not self.stopping.is_set():
            try:
                payloads = [pending.get(timeout=0.2)]
            except queue.Empty:
                continue
            while receiver.kind == "alertmanager" and not pending.empty():
                payloads.append(pending.get_nowait())  # only this thread takes from the queue
            try:
                for payload, count in batches(receiver, payloads):
                    self._result(receiver, self._deliver(receiver, payload, count))
            finally:
                for _ in payloads:
                    pending.task_done()

    def _deliver(self, receiver: Receiver, payload: Any, count: int) -> bool:
        body = json.dumps(payload).encode()
        for attempt in range(1, self.attempts + 1):
            started = time.perf_counter()
            status, error = None, ""
            try:
                request = urllib.request.Request(receiver.endpoint, data=body, method="POST",
                                                 headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    status = response.status
            except urllib.error.HTTPError as failure:
                status, error = failure.code, failure.read(300).decode(errors="replace")
            except (OSError, ValueError) as failure:
                error = str(failure) or type(failure).__name__
            ok = status is not None and 200 <= status < 300
            self._record(receiver, attempt, ok, status, error, count, (time.perf_counter() - started) * 1000)
            if ok or (status is not None and 400 <= status < 500 and status != 429):
                return ok
            if attempt < self.attempts and self.stopping.wait(min(self.backoff * 2 ** (attempt - 1), 30.0)):
                return False
        return False

    def _record(self, receiver: Receiver, *attempt: Any) -> None:
        if self.record is None:
            return
        try:
            self.record(receiver.name, receiver.endpoint, *attempt)
        except Exception as error:  # the history of attempts must not stop the deliveries
            log.warning("cannot record a delivery attempt: %s", error)

    def _result(self, receiver: Receiver, ok: bool) -> None:
        if self.on_result is not None:
            self.on_result(receiver, ok)
