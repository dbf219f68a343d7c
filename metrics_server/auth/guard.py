"""The one place that decides, for every request, who is asking and whether they may (policy.py says what each
route needs). Credentials, in the forms the clients of this server send:

    Authorization: Bearer <token>       Prometheus/vmagent (bearer_token), OTLP exporters, curl
    Authorization: Token <token>        InfluxDB 2.x clients and Telegraf's influxdb_v2 output
    Authorization: Basic user:<token>   Prometheus/vmagent basic_auth, Influx 1.x (the token as the password)
    /write?u=<user>&p=<token>           Influx 1.x clients that put credentials in the query string (/write only)
    cookie mts_session                  the dashboard after sign-in; unsafe methods also need X-CSRF-Token

Verified tokens and sessions are cached for `auth_cache_seconds`, so a revocation reaches the other instances
within that time (the instance that revokes forgets the token at once).
"""
import base64
import binascii
import hashlib
import hmac
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from flask import g, request

from metrics_server.auth import policy, tokens
from metrics_server.auth.ratelimit import RateLimiter
from metrics_server.auth.store import AuthStore, csrf_of, now
from metrics_server.errors import ApiError

SESSION_COOKIE = "mts_session"
CSRF_HEADER = "X-CSRF-Token"
TOUCH_SECONDS = 60  # last_used_at is written at most this often per token and instance
MAX_CACHED = 10_000
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="metrics_server"'}


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: a token, a signed-in user, the configured admin token, or anyone (auth off)."""

    kind: str
    name: str
    scopes: frozenset[str]
    metric_prefixes: tuple[str, ...] = ()
    expires_at: datetime | None = None
    csrf: str = ""

    @property
    def ident(self) -> str:
        """How what it makes records its owner ('token:<id>', 'session:<user>', ...)."""
        return f"{self.kind}:{self.name}"

    def may_touch(self, metric: str) -> bool:
        """Whether a token restricted to metric name prefixes may touch this metric."""
        return policy.may_touch(self.metric_prefixes, metric)

    def covers(self, prefixes: tuple[str, ...]) -> bool:
        """Whether everything a grant limited to `prefixes` may touch, this principal may touch too."""
        return policy.within(tuple(prefixes), self.metric_prefixes)


ANYONE = Principal("anonymous", "anonymous", tokens.expand({"admin"}))


def unauthorized(message: str) -> ApiError:
    return ApiError(message, 401, headers=CHALLENGE)


def presented() -> tuple[str, str]:
    """('token', value), ('session', cookie) or ('', '') from the request; a 401 for a malformed header."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, value = header.strip().partition(" ")
        scheme, value = scheme.lower(), value.strip()
        if scheme in ("bearer", "token") and value:
            return "token", value
        if scheme == "basic":
            try:
                user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise unauthorized("Authorization: Basic credentials are not base64 of user:password") from None
            return "token", password or user
        raise unauthorized("Authorization: expected 'Bearer <token>', 'Token <token>' or 'Basic ...'")
    if request.path == "/write" and request.args.get("p"):
        return "token", request.args["p"]
    cookie = request.cookies.get(SESSION_COOKIE)
    return ("session", cookie) if cookie else ("", "")


def same_site() -> bool:
    """Whether a cookie-borne request comes from our own pages: the browser's Sec-Fetch-Site when it sends it,
    else the Origin header, compared with the host the client asked for."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    return origin is None or urlsplit(origin).netloc == request.host


class Guard:
    """Authenticates, authorises and rate-limits every request (registered as the app's before_request)."""

    def __init__(self, store: AuthStore, config: dict):
        self.store = store
        self.enabled = config["auth"]
        self.cache_seconds = config["auth_cache_seconds"]
        self.session_hours = config["session_hours"]
        admin = config["admin_token"]
        self.admin_digest = hashlib.sha256(admin.encode()).digest() if admin else None
        self.limiter = RateLimiter(config["token_rate_limit"])
        self._cache: dict[bytes, tuple[float, Principal]] = {}
        self._touched: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self) -> None:
        rule = request.url_rule
        if rule is None:
            return  # 404 or 405: the router's answer, with no route to protect
        scope = policy.required_scope(request.method, rule.rule)
        if scope == policy.PUBLIC:
            return
        principal = self.authenticate() if self.enabled else ANYONE
        if principal is None:
            raise unauthorized("authentication required: send 'Authorization: Bearer <token>' or sign in")
        if principal.kind == "session" and request.method not in policy.SAFE_METHODS:
            self.check_csrf(principal)
        if scope != policy.SIGNED_IN and scope not in principal.scopes:
            raise ApiError(f"forbidden: this needs the '{scope}' scope, which {principal.kind} "
                           f"'{principal.name}' does not have", 403)
        metric = (request.view_args or {}).get("name")
        if metric and rule.rule.startswith("/api/metrics/") and not principal.may_touch(metric):
            raise ApiError(f"forbidden: {principal.kind} '{principal.name}' is limited to metrics starting with "
                           + ", ".join(principal.metric_prefixes), 403)
        # Writes of points have their own limit, answered 503 (api/admission.py): a 429 makes Prometheus drop them.
        limited = request.endpoint not in policy.WRITE_ENDPOINTS
        wait = self.limiter.retry_after(f"{principal.kind}:{principal.name}") if limited else 0
        if wait:
            raise ApiError(f"too many requests for {principal.kind} '{principal.name}' (token_rate_limit: "
                           f"{self.limiter.rate:g} per second)", 429, headers={"Retry-After": str(wait)})
        g.principal = principal

    def authenticate(self) -> Principal | None:
        """The principal the request's credentials stand for; None without credentials, 401 for bad ones."""
        kind, value = presented()
        if not kind:
            return None
        key = hashlib.sha256(f"{kind}:{value}".encode()).digest()
        cached = self._cache.get(key)
        if cached and cached[0] > time.monotonic():
            principal = cached[1]
        else:
            principal = self.verify_token(value) if kind == "token" else self.verify_session(value)
            with self._lock:
                if len(self._cache) >= MAX_CACHED:
                    self._cache.clear()
                self._cache[key] = (time.monotonic() + self.cache_seconds, principal)
        if principal.expires_at is not None and principal.expires_at <= now():
            raise unauthorized(f"token {principal.name} has expired")
        if principal.kind == "token":
            self.touch(principal.name)
        return principal

    def verify_token(self, value: str) -> Principal:
        if self.admin_digest and hmac.compare_digest(hashlib.sha256(value.encode()).digest(), self.admin_digest):
            return Principal("admin_token", "configured", tokens.expand({"admin"}))
        parsed = tokens.parse(value)
        if parsed is None:
            raise unauthorized("not a metrics_server token (expected mts_<id>_<secret>)")
        token_id, secret = parsed
        token = self.store.token(token_id)
        if token is None or not tokens.matches(secret, token.hash):
            raise unauthorized("unknown token")
        if token.revoked_at is not None:
            raise unauthorized(f"token {token_id} has been revoked")
        return Principal("token", token_id, tokens.expand(token.scopes), token.metric_prefixes, token.expires_at)

    def verify_session(self, cookie: str) -> Principal:
        found = self.store.session_user(cookie)
        if found is None:
            raise unauthorized("the session has ended: sign in again")
        user, secret = found
        return Principal("session", user.name, tokens.expand(user.scopes), csrf=csrf_of(secret))

    def check_csrf(self, principal: Principal) -> None:
        """A cookie-authenticated change must come from our own pages and carry the session's CSRF token."""
        if not same_site():
            raise ApiError("forbidden: a cross-site request may not use the session cookie", 403)
        if not hmac.compare_digest(request.headers.get(CSRF_HEADER, ""), principal.csrf):
            raise ApiError(f"forbidden: {CSRF_HEADER} header missing or wrong for this session", 403)

    def forget(self, kind: str, value: str) -> None:
        """Drop a credential from this instance's cache (after revocation or sign-out)."""
        self._cache.pop(hashlib.sha256(f"{kind}:{value}".encode()).digest(), None)

    def forget_principal(self, kind: str, name: str) -> None:
        """Drop every cached credential of a token or user from this instance (revoked, password changed)."""
        with self._lock:
            for key, (_, principal) in list(self._cache.items()):
                if principal.kind == kind and principal.name == name:
                    del self._cache[key]

    def touch(self, token_id: str) -> None:
        moment = time.monotonic()
        if moment - self._touched.get(token_id, -TOUCH_SECONDS) >= TOUCH_SECONDS:
            self._touched[token_id] = moment
            self.store.touch_token(token_id)
