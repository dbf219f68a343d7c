"""The errors a client may see, as domain exceptions that carry their HTTP status; api/errors.py turns them (and
every other exception) into the JSON envelope. Storage and ingest raise these without knowing Flask."""


class ApiError(Exception):
    """An error the client should see: HTTP status, one clear message, optional response headers (e.g.
    Retry-After) and details."""

    status = 400
    retry_after: int | None = None  # seconds, sent as Retry-After (a limit that passes with time)

    def __init__(self, message: str, status: int | None = None, headers: dict | None = None, **details):
        super().__init__(message)
        self.message = message
        self.status = status or self.status
        self.headers = headers or {}
        self.details = details


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class StorageUnavailable(ApiError):
    """Cassandra cannot be reached or did not acknowledge: nothing may be reported as stored."""

    status = 503


def one_line(error: BaseException) -> str:
    """A driver error squeezed to one readable line."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) < 300 else text[:297] + "..."
