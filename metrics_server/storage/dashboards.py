"""Saved dashboards: one row per dashboard, its definition as JSON, and a version that every save must name; and
the last VERSIONS_KEPT versions of each, its history (issue 26: a team restores what a save lost).

A save is a compare-and-set on the version (a lightweight transaction), so of two people editing the same
version the second save is refused instead of silently overwriting the first (issue 16). The history row is
written after the save it records: a failure in between leaves that one version out of the history, never a
version in the history that was not saved."""
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from metrics_server.errors import Conflict, NotFound
from metrics_server.storage.db import READ_PROFILE, Database

VERSIONS_KEPT = 30  # a month of daily saves; each at most a DashboardSchema-bounded body


@dataclass(frozen=True)
class Dashboard:
    """A stored dashboard: identity, version, when it was last saved, and its definition (title, panels...)."""

    id: str
    version: int
    updated_at: datetime
    body: dict
    owner: str = ""  # who created it ('token:<id>', 'session:<user>'); empty for dashboards saved before owners
    metric_prefixes: tuple[str, ...] = ()  # its creator's limit (metrics_server/auth): who may see and change it

    def to_json(self) -> dict:
        return {"id": self.id, "version": self.version,
                "updated_at": self.updated_at.isoformat().replace("+00:00", "Z"), "owner": self.owner,
                "metric_prefixes": list(self.metric_prefixes), **self.body}

    def summary(self) -> dict:
        """What the list shows: no panel definitions, just how many."""
        return {"id": self.id, "version": self.version, "title": self.body["title"],
                "description": self.body.get("description", ""), "panels": len(self.body.get("panels", [])),
                "updated_at": self.to_json()["updated_at"]}


def _dashboard(row) -> Dashboard:
    return Dashboard(id=row.id, version=row.version, updated_at=row.updated_at.replace(tzinfo=UTC),
                     body=orjson.loads(row.body), owner=row.owner or "",
                     metric_prefixes=tuple(sorted(row.metric_prefixes or ())))


@dataclass(frozen=True)
class Version:
    """One saved version of a dashboard: who saved it when, and its definition."""

    version: int
    saved_at: datetime
    saved_by: str
    body: dict

    def summary(self) -> dict:
        """What the history lists: no panel definitions, just how many."""
        return {"version": self.version, "title": self.body["title"], "panels": len(self.body.get("panels", [])),
                "saved_at": self.saved_at.isoformat().replace("+00:00", "Z"), "saved_by": self.saved_by}

    def to_json(self) -> dict:
        return {**self.summary(), "dashboard": self.body}


def _version(row) -> Version:
    return Version(version=row.version, saved_at=row.saved_at.replace(tzinfo=UTC), saved_by=row.saved_by or "",
                   body=orjson.loads(row.body))


def _now() -> datetime:
    # Cassandra keeps milliseconds; cut here so what a save returns equals what a read gives back.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class DashboardStore:
    """Create, read, list, save (versioned) and delete dashboards in the `dashboards` table."""

    def __init__(self, db: Database):
        self.db = db

    def all(self, search: str = "") -> list[Dashboard]:
        """Every dashboard (a few hundred at most: one small partition each), optionally those whose title or
        description contains `search`, by title."""
        rows = self.db.session.execute(self.db.prepare("SELECT * FROM {ks}.dashboards"), execution_profile=READ_PROFILE)
        found = [_dashboard(row) for row in rows]
        needle = search.lower()
        if needle:
            found = [d for d in found if needle in d.body["title"].lower()
                     or needle in d.body.get("description", "").lower()]
        return sorted(found, key=lambda d: (d.body["title"].lower(), d.id))

    def get(self, dashboard_id: str) -> Dashboard:
        row = self.db.session.execute(self.db.prepare("SELECT * FROM {ks}.dashboards WHERE id = ?"),
                                      (dashboard_id,), execution_profile=READ_PROFILE).one()
        if row is None:
            raise NotFound(f"dashboard '{dashboard_id}' not found")
        return _dashboard(row)

    def create(self, body: dict, owner: str = "", metric_prefixes: tuple[str, ...] = ()) -> Dashboard:
        """A new dashboard at version 1 under a fresh random id."""
        dashboard = Dashboard(id=secrets.token_hex(6), version=1, updated_at=_now(), body=body, owner=owner,
                              metric_prefixes=tuple(metric_prefixes))
        result = self.db.session.execute(self.db.prepare(
            "INSERT INTO {ks}.dashboards (id, title, version, body, updated_at, owner, metric_prefixes) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS"),
            (dashboard.id, body["title"], 1, orjson.dumps(body).decode(), dashboard.updated_at, owner,
             set(metric_prefixes)))
        if not result.was_applied:  # 48 random bits taken: vanishingly rare, and never silently overwritten
            raise Conflict("dashboard id collision, please retry")
        self._record(dashboard, owner)
        return dashboard

    def save(self, current: Dashboard, body: dict, version: int, saved_by: str = "") -> Dashboard:
        """Replace the dashboard if it is still at `version` (then it becomes version + 1, kept in the history as
        saved by `saved_by`); else 409 naming both versions, or 404 when it is gone. Its owner and prefixes stay."""
        dashboard_id = current.id
        saved = Dashboard(id=dashboard_id, version=version + 1, updated_at=_now(), body=body, owner=current.owner,
                          metric_prefixes=current.metric_prefixes)
        result = self.db.session.execute(self.db.prepare(
            "UPDATE {ks}.dashboards SET title = ?, body = ?, version = ?, updated_at = ? WHERE id = ? IF version = ?"),
            (body["title"], orjson.dumps(body).decode(), saved.version, saved.updated_at, dashboard_id, version))
        if result.was_applied:
            self._record(saved, saved_by)
            return saved
        # A refused compare-and-set answers the row's current version, or nothing when the row does not exist.
        current = getattr(result.one(), "version", None)
        if current is None:
            raise NotFound(f"dashboard '{dashboard_id}' not found")
        raise Conflict(f"version: dashboard '{body['title']}' was saved by someone else since you opened it "
                       f"(it is at version {current}, your changes are to version {version}); reload it "
                       f"to see their changes, then apply yours again", current_version=current)

    def delete(self, dashboard_id: str) -> None:
        """The dashboard and its history."""
        result = self.db.session.execute(self.db.prepare("DELETE FROM {ks}.dashboards WHERE id = ? IF EXISTS"),
                                         (dashboard_id,))
        if not result.was_applied:
            raise NotFound(f"dashboard '{dashboard_id}' not found")
        self.db.session.execute(self.db.prepare("DELETE FROM {ks}.dashboard_versions WHERE id = ?"), (dashboard_id,))

    def _record(self, dashboard: Dashboard, saved_by: str) -> None:
        """Keeps a saved version in the history, and forgets the one that falls off its end (one range delete)."""
        self.db.session.execute(self.db.prepare(
            "INSERT INTO {ks}.dashboard_versions (id, version, title, body, saved_at, saved_by) "
            "VALUES (?, ?, ?, ?, ?, ?)"),
            (dashboard.id, dashboard.version, dashboard.body["title"], orjson.dumps(dashboard.body).decode(),
             dashboard.updated_at, saved_by))
        if dashboard.version > VERSIONS_KEPT:
            self.db.session.execute(self.db.prepare(
                "DELETE FROM {ks}.dashboard_versions WHERE id = ? AND version <= ?"),
                (dashboard.id, dashboard.version - VERSIONS_KEPT))

    def versions(self, dashboard_id: str) -> list[Version]:
        """The dashboard's kept versions, newest first (none for one saved before the history)."""
        rows = self.db.session.execute(self.db.prepare(
            "SELECT * FROM {ks}.dashboard_versions WHERE id = ? LIMIT " + str(VERSIONS_KEPT)),
            (dashboard_id,), execution_profile=READ_PROFILE)
        return [_version(row) for row in rows]

    def version(self, dashboard_id: str, version: int) -> Version:
        """One kept version, or 404 naming it."""
        row = self.db.session.execute(self.db.prepare(
            "SELECT * FROM {ks}.dashboard_versions WHERE id = ? AND version = ?"),
            (dashboard_id, version), execution_profile=READ_PROFILE).one()
        if row is None:
            raise NotFound(f"version {version} of dashboard '{dashboard_id}' is not in its history "
                           f"(the last {VERSIONS_KEPT} saves are kept)")
        return _version(row)
