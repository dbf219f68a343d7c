"""Alerting with real parts: instances as processes (each competing for the evaluator lease), Debian's
Alertmanager read back with `amtool alert query`, a webhook receiver checking Alertmanager's v4 payload, and the
evaluator killed (SIGKILL) while the alert is pending and again while it fires.

Figures are printed (pytest -s shows them) and summarized in the alerting note: the takeover time, ActiveAt
before and after, when the alert fired relative to ActiveAt + for, and the announcements counted."""
import threading
import time

import pytest
import requests

from tests.alerting.conftest import INSTANCE_PORTS, amtool_alerts
from tests.failure.harness import AUTH, wait_until

pytestmark = pytest.mark.alerting

LEASE = 3  # seconds: a dead holder's lease expires within this, a follower asks every LEASE/3
FOR = 8  # seconds of pending before firing
RULES = f"""groups:
- name: kill
  interval: 1s
  rules:
  - alert: KillSwitch
    expr: kill_signal > 10
    for: {FOR}s
    labels:
      severity: page
    annotations:
      summary: "{{{{ $labels.host }}}} signals {{{{ $value }}}}"
"""


class Signal:
    """Writes kill_signal{{host="a"}} every 0.3 s to whichever instance answers, at the level the test sets."""

    def __init__(self):
        self.level = 20.0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stopping.wait(0.3):
            for port in INSTANCE_PORTS:
                try:
                    requests.post(f"http://127.0.0.1:{port}/api/write", timeout=5, headers=AUTH, json=[
                        {"name": "kill_signal", "labels": {"host": "a"}, "value": self.level,
                         "timestamp": int(time.time() * 1000)}])
                    break
                except requests.RequestException:
                    continue


def get(port: int, path: str) -> dict:
    return requests.get(f"http://127.0.0.1:{port}{path}", headers=AUTH, timeout=10).json()


def kill_alert(port: int) -> dict | None:
    return next((a for a in get(port, "/api/v1/alerts")["data"]["alerts"] if a["labels"]["alertname"] == "KillSwitch"),
                None)


def holder(port: int) -> str | None:
    return get(port, "/api/alerts")["evaluator"]


def leader_port(port: int) -> int:
    """The port of the instance holding the lease (holders are host:port:pid)."""
    return int(wait_until(lambda: holder(port), 60, what="an evaluator to take the lease").split(":")[1])


def evaluated_after(port: int, moment: float) -> bool:
    """Whether the kill group has been evaluated after `moment` (epoch seconds)."""
    groups = get(port, "/api/v1/rules")["data"]["groups"]
    (group,) = [g for g in groups if g["name"] == "kill"]
    return parse(group["lastEvaluation"]) >= moment


def announcements(webhook, status: str) -> list[dict]:
    """The webhook's KillSwitch alerts with this status, one per announcement received."""
    return [alert for payload in webhook.payloads() for alert in payload["alerts"]
            if alert["labels"]["alertname"] == "KillSwitch" and alert["status"] == status]


def test_the_evaluator_killed_while_pending_and_while_firing_neither_resets_for_nor_repeats_itself(
        instances, alertmanager, webhook):
    stack = instances(RULES, alert_lease_seconds=LEASE, alert_resend_delay=2,
                      external_url="http://metrics.example")
    a, b = INSTANCE_PORTS
    stack.start(a)
    stack.start(b)
    signal = Signal()
    signal.thread.start()
    try:
        # 1. pending; kill the evaluator
        pending = wait_until(lambda: (kill_alert(a) or {}).get("state") == "pending" and kill_alert(a), 90,
                             what="KillSwitch to be pending")
        first = leader_port(a)
        killed_at = time.time()
        stack.kill(first)
        survivor = b if first == a else a
        took_over = wait_until(lambda: holder(survivor) and int(holder(survivor).split(":")[1]) == survivor
                               and evaluated_after(survivor, killed_at) and time.time(), 60, what="a takeover")
        takeover_pending = took_over - killed_at
        firing = wait_until(lambda: (kill_alert(survivor) or {}).get("state") == "firing" and kill_alert(survivor),
                            60, what="KillSwitch to fire")
        assert firing["activeAt"] == pending["activeAt"], "ActiveAt was reset by the takeover"
        history = requests.get(f"http://127.0.0.1:{survivor}/api/alerts/history", headers=AUTH,
                               params={"group": "kill", "start": "-10m"}, timeout=10).json()["transitions"]
        moves = [(t["from"], t["to"], t["at"]) for t in reversed(history)]
        assert [(f, t) for f, t, _ in moves] == [("inactive", "pending"), ("pending", "firing")]
        fired_after = (parse(moves[1][2]) - parse(moves[0][2]))
        # not earlier than `for`, and not a whole `for` after the takeover (a reset would also change ActiveAt)
        assert FOR <= fired_after < FOR + takeover_pending + 6, fired_after

        # 2. Alertmanager holds it (spec format), the webhook announced it once
        def in_alertmanager():
            return [x for x in amtool_alerts(alertmanager, "alertname=KillSwitch") if x["status"]["state"] == "active"]
        (held,) = wait_until(in_alertmanager, 30, what="Alertmanager to hold KillSwitch")
        assert held["labels"] == {"alertname": "KillSwitch", "host": "a", "severity": "page"}
        assert held["annotations"]["summary"] == "a signals 20"
        assert parse(held["startsAt"]) == parse(moves[1][2])
        assert held["generatorURL"].startswith("http://metrics.example/api/v1/query?query=kill_signal")
        wait_until(lambda: announcements(webhook, "firing"), 30, what="the webhook's firing announcement")

        # 3. a successor for the survivor, then kill the evaluator while firing
        stack.start(first)
        killed_at = time.time()
        stack.kill(survivor)
        took_over = wait_until(lambda: holder(first) and int(holder(first).split(":")[1]) == first
                               and evaluated_after(first, killed_at) and time.time(), 60, what="a second takeover")
        takeover_firing = took_over - killed_at
        time.sleep(5)  # resends happen (every 2 s) but no second announcement
        still = kill_alert(first)
        assert (still["state"], still["activeAt"]) == ("firing", pending["activeAt"])
        assert len(announcements(webhook, "firing")) == 1

        # 4. resolved: once to the webhook, and Alertmanager lets it go
        signal.level = 1.0
        wait_until(lambda: announcements(webhook, "resolved"), 60, what="the webhook's resolved announcement")
        wait_until(lambda: not in_alertmanager(), 60, what="Alertmanager to resolve KillSwitch")
        time.sleep(3)
        (resolved,) = announcements(webhook, "resolved")
        (announced,) = announcements(webhook, "firing")
        assert resolved["fingerprint"] == announced["fingerprint"] == held["fingerprint"]
        assert announced["endsAt"] == "0001-01-01T00:00:00Z" and parse(resolved["endsAt"]) > parse(resolved["startsAt"])
        payload = next(p for p in webhook.payloads() if p["alerts"][0]["status"] == "resolved")
        assert set(payload) == {"version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels",
                                "commonLabels", "commonAnnotations", "externalURL", "alerts"}
        assert (payload["version"], payload["status"], payload["groupLabels"]) == \
            ("4", "resolved", {"alertname": "KillSwitch"})
        assert set(payload["alerts"][0]) == {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL",
                                             "fingerprint"}
        attempts = get(first, "/api/alerts/notifications?start=-10m")["attempts"]
        assert attempts and all(a["ok"] for a in attempts)
        exposition = requests.get(f"http://127.0.0.1:{first}/metrics", timeout=10).text
        assert 'metrics_server_alert_group_evaluations_total{group="kill"}' in exposition
        assert "metrics_server_alert_evaluator_leader 1.0" in exposition
        assert 'metrics_server_alert_notifications_total{receiver="webhook-0",result="sent"}' in exposition
        print(f"\ntakeover while pending: {takeover_pending:.1f} s, while firing: {takeover_firing:.1f} s "
              f"(lease {LEASE} s); ActiveAt {pending['activeAt']} kept; fired {fired_after:.1f} s after ActiveAt "
              f"(for {FOR} s); webhook announcements: 1 firing, 1 resolved; delivery attempts: {len(attempts)}")
    finally:
        signal.stopping.set()
        signal.thread.join(10)


def parse(text: str) -> float:
    """RFC 3339 (with or without fraction) → epoch seconds."""
    from datetime import datetime
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
