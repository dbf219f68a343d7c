"""Alerting's tables: rule groups, per-rule state, the evaluator's lease, history, delivery attempts.

State is one JSON document per rule, a partition per group, written in one single-partition batch after each
group evaluation (atomic and isolated), so a new evaluator reads back exactly what the last one decided:
ActiveAt (for), the last send (no duplicates), keep_firing_for's start, the no-data memory. Documents go in
and out as plain dicts: alerting/ gives them meaning.
"""
import datetime
import json
import time
import uuid
from typing import Any

from cassandra.query import BatchStatement, BatchType
from cassandra.util import unix_time_from_uuid1

from metrics_server.storage.db import Database

LEASE = "evaluator"
SCOPE = "rules"
DELIVERY_TTL = 7 * 86400
DAY_MS = 86_400_000


def day_of(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC).strftime("%Y-%m-%d")


def days_between(start: int, end: int) -> list[str]:
    """The UTC days a range touches, newest first."""
    first = start - start % DAY_MS
    return [day_of(ms) for ms in range(end - end % DAY_MS, first - 1, -DAY_MS)]


class AlertStore:
    """The only CQL of alerting; every method is one or a few prepared statements."""

    def __init__(self, db: Database, history_days: int = 30):
        self.db = db
        self.history_ttl = history_days * 86400

    # ---- rule groups ----

    def groups(self) -> list[tuple[dict, str, int]]:
        """Every stored group (as its rule-file map) with its source (api or file:path) and update time (ms),
        by name."""
        rows = self.db.session.execute(self.db.prepare(
            "SELECT name, body, source, updated_at FROM {ks}.alert_groups WHERE scope = ?"), (SCOPE,))
        return [(json.loads(row.body), row.source, int(row.updated_at.timestamp() * 1000)) for row in rows]

    def group(self, name: str) -> dict | None:
        row = self.db.session.execute(self.db.prepare(
            "SELECT body FROM {ks}.alert_groups WHERE scope = ? AND name = ?"), (SCOPE, name)).one()
        return json.loads(row.body) if row else None

    def put_group(self, name: str, body: dict, source: str = "api") -> None:
        self.db.session.execute(self.db.prepare(
            "INSERT INTO {ks}.alert_groups (scope, name, body, source, updated_at) VALUES (?, ?, ?, ?, ?)"),
            (SCOPE, name, json.dumps(body), source, datetime.datetime.now(datetime.UTC)))

    def delete_group(self, name: str) -> None:
        """The group and its state (its alerts end; receivers learn it from endsAt, as when Prometheus drops
        a rule)."""
        self.db.session.execute(self.db.prepare("DELETE FROM {ks}.alert_groups WHERE scope = ? AND name = ?"),
                                (SCOPE, name))
        self.db.session.execute(self.db.prepare("DELETE FROM {ks}.alert_state WHERE group_name = ?"), (name,))

    def record_change(self, name: str, action: str, body: dict | None, actor: str) -> None:
        """One entry of the group's change history: created, replaced or deleted, by whom, what it became."""
        self.db.session.execute(self.db.prepare(
            "INSERT INTO {ks}.alert_group_changes (name, at, action, body, actor) VALUES (?, ?, ?, ?, ?) "
            "USING TTL ?"), (name, uuid.uuid1(), action, None if body is None else json.dumps(body), actor,
                             self.history_ttl))

    def changes(self, name: str, limit: int) -> list[dict[str, Any]]:
        """The group's changes, newest first: at (ms), action, actor, body (None for a deletion)."""
        rows = self.db.session.execute(self.db.prepare(
            "SELECT at, action, body, actor FROM {ks}.alert_group_changes WHERE name = ? LIMIT ?"), (name, limit))
        return [{"at": int(unix_time_from_uuid1(row.at) * 1000), "action": row.action, "actor": row.actor,
                 "body": None if row.body is None else json.loads(row.body)} for row in rows]

    # ---- state ----

    def load_state(self, group: str) -> dict[str, dict]:
        """Each rule's state document, by rule key."""
        rows = self.db.session.execute(self.db.prepare(
            "SELECT rule_key, state FROM {ks}.alert_state WHERE group_name = ?"), (group,))
        return {row.rule_key: json.loads(row.state) for row in rows}

    def save_state(self, group: str, states: dict[str, dict], removed: set[str] = frozenset()) -> None:
        """The group's rules' state in one single-partition batch (all or nothing)."""
        now = datetime.datetime.now(datetime.UTC)
        batch = BatchStatement(batch_type=BatchType.LOGGED)
        insert = self.db.prepare(
            "INSERT INTO {ks}.alert_state (group_name, rule_key, state, updated_at) VALUES (?, ?, ?, ?)")
        for key, state in states.items():
            batch.add(insert, (group, key, json.dumps(state), now))
        delete = self.db.prepare("DELETE FROM {ks}.alert_state WHERE group_name = ? AND rule_key = ?")
        for key in removed:
            batch.add(delete, (group, key))
        if len(batch):
            self.db.session.execute(batch)

    # ---- the lease ----

    def acquire(self, holder: str, ttl_seconds: int) -> tuple[bool, str | None]:
        """Take the lease if nobody holds it, or renew it if `holder` does: (held now, current holder)."""
        now = datetime.datetime.now(datetime.UTC)
        renewed = self.db.session.execute(self.db.prepare(
            "UPDATE {ks}.alert_lease USING TTL ? SET holder = ?, renewed_at = ? WHERE name = ? IF holder = ?"),
            (ttl_seconds, holder, now, LEASE, holder))
        if renewed.was_applied:
            return True, holder
        taken = self.db.session.execute(self.db.prepare(
            "INSERT INTO {ks}.alert_lease (name, holder, renewed_at) VALUES (?, ?, ?) IF NOT EXISTS USING TTL ?"),
            (LEASE, holder, now, ttl_seconds))
        return (True, holder) if taken.was_applied else (False, taken.one().holder)

    def release(self, holder: str) -> None:
        """Give the lease up at once (a clean stop), so another instance takes over without waiting."""
        self.db.session.execute(self.db.prepare("DELETE FROM {ks}.alert_lease WHERE name = ? IF holder = ?"),
                                (LEASE, holder))

    def holder(self) -> str | None:
        row = self.db.session.execute(self.db.prepare("SELECT holder FROM {ks}.alert_lease WHERE name = ?"),
                                      (LEASE,)).one()
        return row.holder if row else None

    # ---- history ----

    def record_transitions(self, group: str, items: list[tuple[str, Any]]) -> None:
        """(rule key, transition) pairs (with at, labels, fingerprint, from_state, to_state, value), each
        with the history TTL."""
        insert = self.db.prepare(
            "INSERT INTO {ks}.alert_history (day, at, id, group_name, rule_key, alertname, fingerprint, labels, "
            "from_state, to_state, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?")
        for rule_key, t in items:
            self.db.session.execute(insert, (
                day_of(t.at), _ts(t.at), uuid.uuid1(), group, rule_key, t.labels.get("alertname", ""),
                t.fingerprint, t.labels, t.from_state, t.to_state, t.value, self.history_ttl))

    def history(self, start: int, end: int, group: str | None = None, rule: str | None = None,
                limit: int = 1000) -> list[dict[str, Any]]:
        """Transitions between start and end (ms), newest first, optionally of one group or rule."""
        select = self.db.prepare(
            "SELECT at, group_name, rule_key, alertname, fingerprint, labels, from_state, to_state, value "
            "FROM {ks}.alert_history WHERE day = ? AND at >= ? AND at <= ?")
        out = []
        for day in days_between(start, end):
            for row in self.db.session.execute(select, (day, _ts(start), _ts(end))):
                if (group and row.group_name != group) or (rule and rule not in (row.rule_key, row.alertname)):
                    continue
                out.append({"at": int(row.at.timestamp() * 1000), "group": row.group_name, "rule": row.rule_key,
                            "alertname": row.alertname, "fingerprint": row.fingerprint,
                            "labels": dict(row.labels or {}), "from": row.from_state, "to": row.to_state,
                            "value": row.value})
                if len(out) >= limit:
                    return out
        return out

    # ---- deliveries ----

    def record_delivery(self, receiver: str, url: str, attempt: int, ok: bool, status: int | None,
                        error: str, alerts: int, duration_ms: float) -> None:
        now = int(time.time() * 1000)
        self.db.session.execute(self.db.prepare(
            "INSERT INTO {ks}.alert_deliveries (day, at, id, receiver, url, attempt, ok, status, error, alerts, "
            "duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?"),
            (day_of(now), _ts(now), uuid.uuid1(), receiver, url, attempt, ok, status, error, alerts, duration_ms,
             DELIVERY_TTL))

    def deliveries(self, start: int, end: int, limit: int = 1000) -> list[dict[str, Any]]:
        select = self.db.prepare(
            "SELECT at, receiver, url, attempt, ok, status, error, alerts, duration_ms FROM {ks}.alert_deliveries "
            "WHERE day = ? AND at >= ? AND at <= ? LIMIT ?")
        out = []
        for day in days_between(start, end):
            for row in self.db.session.execute(select, (day, _ts(start), _ts(end), limit - len(out))):
                out.append({"at": int(row.at.timestamp() * 1000), "receiver": row.receiver, "url": row.url,
                            "attempt": row.attempt, "ok": row.ok, "status": row.status, "error": row.error,
                            "alerts": row.alerts, "duration_ms": row.duration_ms})
            if len(out) >= limit:
                break
        return out


def _ts(ms: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC)
