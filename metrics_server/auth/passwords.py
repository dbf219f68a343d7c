"""People's passwords: argon2id (argon2-cffi's RFC 9106 low-memory profile), verified in constant time.

An unknown user name costs the same hash as a wrong password, so timing does not tell which names exist.
"""
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASHER = PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4
MIN_LENGTH = 12
_DUMMY = HASHER.hash("an unknown user name costs the same as a wrong password")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify(stored: str | None, password: str) -> bool:
    """Whether the password matches the stored hash (None: no such user, still spends the time)."""
    try:
        return HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def check_new(password: object) -> str:
    """A message naming what is wrong with a new password, or '' when it is acceptable."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        return f"password: expected at least {MIN_LENGTH} characters"
    if len(password) > 1024:
        return "password: expected at most 1024 characters"
    return ""
