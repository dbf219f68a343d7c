"""Tokens, users, sessions and setup codes in Cassandra (tables in storage/cql_schema.py): hashes only, never a
raw token, password, session id or setup code."""
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from metrics_server.auth import tokens
from metrics_server.storage.db import READ_PROFILE, Database

SETUP_CODE_HOURS = 24


def now() -> datetime:
    return datetime.now(UTC)


def aware(when: datetime | None) -> datetime | None:
    """Cassandra's timestamps come back naive, in UTC."""
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


@dataclass(frozen=True)
class Token:
    """A token's stored facts (its hash included, its secret never)."""

    id: str
    hash: bytes
    name: str
    owner: str
    scopes: frozenset[str]
    metric_prefixes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def to_json(self) -> dict:
        iso = lambda when: when.isoformat().replace("+00:00", "Z") if when else None  # noqa: E731
        return {"id": self.id, "name": self.name, "owner": self.owner, "scopes": sorted(self.scopes),
                "metric_prefixes": list(self.metric_prefixes), "created_at": iso(self.created_at),
                "expires_at": iso(self.expires_at), "revoked_at": iso(self.revoked_at),
                "last_used_at": iso(self.last_used_at)}


@dataclass(frozen=True)
class User:
    name: str
    password_hash: str
    scopes: frozenset[str]
    password_changed_at: datetime | None = None  # sessions begun before it have ended

    def to_json(self) -> dict:
        return {"username": self.name, "scopes": sorted(self.scopes)}


def _token(row) -> Token:
    return Token(id=row.id, hash=row.hash, name=row.name or "", owner=row.owner or "",
                 scopes=frozenset(row.scopes or ()), metric_prefixes=tuple(sorted(row.metric_prefixes or ())),
                 created_at=aware(row.created_at), expires_at=aware(row.expires_at),
                 revoked_at=aware(row.revoked_at), last_used_at=aware(row.last_used_at))


def _user(row) -> User:
    return User(row.name, row.password_hash, frozenset(row.scopes or ()), aware(row.password_changed_at))


def csrf_of(session_secret: str) -> str:
    """A session's CSRF token, derived from its secret: nothing more to store, the same after a page reload."""
    return hmac.new(session_secret.encode(), b"csrf", hashlib.sha256).hexdigest()


class AuthStore:
    """Every auth read and write; prepared statements, reads at the configured read consistency."""

    def __init__(self, db: Database):
        self.db = db

    def _run(self, cql: str, values=(), read: bool = False):
        return self.db.session.execute(self.db.prepare(cql), values,
                                       **({"execution_profile": READ_PROFILE} if read else {}))

    # tokens
    def create_token(self, name: str, scopes, owner: str = "", metric_prefixes=(),
                     expires_at: datetime | None = None) -> tuple[str, Token]:
        """A new token: (the raw token, to show once; what is stored)."""
        raw, token_id, digest = tokens.new_token()
        self._run("INSERT INTO {ks}.api_tokens (id, hash, name, owner, scopes, metric_prefixes, created_at, "
                  "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                  (token_id, digest, name, owner, set(scopes), set(metric_prefixes), now(), expires_at))
        return raw, self.token(token_id)

    def token(self, token_id: str) -> Token | None:
        row = self._run("SELECT * FROM {ks}.api_tokens WHERE id = ?", (token_id,), read=True).one()
        return _token(row) if row else None

    def tokens(self) -> list[Token]:
        return sorted((_token(row) for row in self._run("SELECT * FROM {ks}.api_tokens", read=True)),
                      key=lambda token: token.created_at)

    def revoke_token(self, token_id: str) -> bool:
        """Mark a token revoked (kept, so lists show when); False when there is no such token."""
        return self._run("UPDATE {ks}.api_tokens SET revoked_at = ? WHERE id = ? IF EXISTS",
                         (now(), token_id)).was_applied

    def touch_token(self, token_id: str) -> None:
        """Record a use, without waiting for the answer (a lost update only makes last_used_at older)."""
        self.db.session.execute_async(self.db.prepare("UPDATE {ks}.api_tokens SET last_used_at = ? WHERE id = ?"),
                                      (now(), token_id))

    # users
    def user(self, name: str) -> User | None:
        row = self._run("SELECT * FROM {ks}.users WHERE name = ?", (name,), read=True).one()
        return _user(row) if row else None

    def users(self) -> list[User]:
        rows = self._run("SELECT * FROM {ks}.users", read=True)
        return sorted(map(_user, rows), key=lambda user: user.name)

    def any_user(self) -> bool:
        return self._run("SELECT name FROM {ks}.users LIMIT 1", read=True).one() is not None

    def create_user(self, name: str, password_hash: str, scopes) -> bool:
        """False when the name is taken."""
        return self._run("INSERT INTO {ks}.users (name, password_hash, scopes, created_at) VALUES (?, ?, ?, ?) "
                         "IF NOT EXISTS", (name, password_hash, set(scopes), now())).was_applied

    def set_password(self, name: str, password_hash: str) -> bool:
        """The new password, which ends every session the user began before (a stolen cookie with the old)."""
        return self._run("UPDATE {ks}.users SET password_hash = ?, password_changed_at = ? WHERE name = ? IF EXISTS",
                         (password_hash, now(), name)).was_applied

    def delete_user(self, name: str) -> bool:
        return self._run("DELETE FROM {ks}.users WHERE name = ? IF EXISTS", (name,)).was_applied

    # sessions: the cookie is '<id>.<secret>'; the row holds the secret's hash and lives as long as the session
    def create_session(self, username: str, hours: int) -> str:
        session_id, secret = secrets.token_urlsafe(12), secrets.token_urlsafe(32)
        self._run("INSERT INTO {ks}.sessions (id, hash, username, created_at) VALUES (?, ?, ?, ?) USING TTL ?",
                  (session_id, tokens.digest(secret), username, now(), hours * 3600))
        return f"{session_id}.{secret}"

    def session_user(self, cookie: str) -> tuple[User, str] | None:
        """(user, session secret) of a live session cookie, None otherwise (also when the user's password changed
        after the session began)."""
        session_id, _, secret = cookie.partition(".")
        if not session_id or not secret or len(cookie) > 200:
            return None
        row = self._run("SELECT hash, username, created_at FROM {ks}.sessions WHERE id = ?", (session_id,),
                        read=True).one()
        if row is None or not tokens.matches(secret, row.hash):
            return None
        user = self.user(row.username)
        if user is None or (user.password_changed_at is not None and aware(row.created_at) < user.password_changed_at):
            return None
        return user, secret

    def delete_session(self, cookie: str) -> None:
        session_id = cookie.partition(".")[0]
        if session_id:  # a malformed cookie names no session (and Cassandra refuses an empty key)
            self._run("DELETE FROM {ks}.sessions WHERE id = ?", (session_id,))

    # setup codes: how the first admin signs up (printed by `make up` while no user exists)
    def create_setup_code(self) -> str:
        code_id, secret = secrets.token_urlsafe(6), secrets.token_urlsafe(24)
        self._run("INSERT INTO {ks}.setup_codes (id, hash, created_at) VALUES (?, ?, ?) USING TTL ?",
                  (code_id, tokens.digest(secret), now(), SETUP_CODE_HOURS * 3600))
        return f"{code_id}.{secret}"

    def take_setup_code(self, code: str) -> bool:
        """Whether the code is live; it is used up (deleted) when it is."""
        code_id, _, secret = code.partition(".")
        if not code_id or not secret or len(code) > 200:
            return False
        row = self._run("SELECT hash FROM {ks}.setup_codes WHERE id = ?", (code_id,), read=True).one()
        if row is None or not tokens.matches(secret, row.hash):
            return False
        return self._run("DELETE FROM {ks}.setup_codes WHERE id = ? IF EXISTS", (code_id,)).was_applied


def expiry(days: float | None) -> datetime | None:
    return now() + timedelta(days=days) if days else None
