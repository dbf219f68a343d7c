"""API tokens: `mts_<id>_<secret>`, 32 random bytes of secret, only a SHA-256 of the secret ever stored.

The prefix lets secret scanners and people recognise a leaked token; the public id names it in lists, logs and
revocation and is the one Cassandra lookup; the secret is compared by hash in constant time. A fast hash is
right for 256 random bits (no dictionary to try); passwords, chosen by people, get argon2id (passwords.py).
"""
import hashlib
import hmac
import re
import secrets

PREFIX = "mts_"
ID_BYTES = 6      # 8 url-safe characters: public, unique enough to key a table of tokens
SECRET_BYTES = 32  # 256 bits, the size Python's secrets module recommends for tokens
TOKEN = re.compile(r"^mts_([A-Za-z0-9_-]{8})_([A-Za-z0-9_-]{43})$")
SCOPES = ("read", "write", "delete", "admin")  # admin implies every other scope


def new_token() -> tuple[str, str, bytes]:
    """(token shown once, its public id, the hash to store)."""
    token_id = secrets.token_urlsafe(ID_BYTES)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return f"{PREFIX}{token_id}_{secret}", token_id, digest(secret)


def parse(token: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed token, None for anything else (checked before any lookup)."""
    match = TOKEN.match(token)
    return (match.group(1), match.group(2)) if match else None


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def matches(secret: str, stored: bytes) -> bool:
    """Whether a presented secret is the one whose hash is stored, in time independent of where they differ."""
    return hmac.compare_digest(digest(secret), stored)


def expand(scopes) -> frozenset[str]:
    """The scopes a grant carries: admin carries all of them."""
    scopes = frozenset(scopes)
    return frozenset(SCOPES) if "admin" in scopes else scopes
