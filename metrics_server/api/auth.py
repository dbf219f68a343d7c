"""Sign-in, sign-out and first-admin setup for the dashboard; token and user management for admins."""
from flask import Blueprint, Response, request

from metrics_server import auth
from metrics_server.api.body import json_body
from metrics_server.api.openapi import documented
from metrics_server.auth import passwords
from metrics_server.auth.guard import SESSION_COOKIE
from metrics_server.auth.schemas import LoginSchema, PasswordSchema, SetupSchema, TokenSchema, UserSchema
from metrics_server.auth.store import csrf_of, expiry
from metrics_server.errors import ApiError, Conflict, NotFound
from metrics_server.jsonio import json_response

blueprint = Blueprint("auth", __name__)
ADMIN = ["admin"]


def signed_in(username: str, scopes, status: int = 200) -> Response:
    """Start a session: the cookie (HttpOnly, SameSite=Strict, Secure behind https) and, in the body, the CSRF
    token the page keeps in memory and sends back as X-CSRF-Token."""
    hours = auth.guard().session_hours
    cookie = auth.store().create_session(username, hours)
    response = json_response({"username": username, "scopes": sorted(scopes),
                              "csrf_token": csrf_of(cookie.partition(".")[2])}, status)
    response.set_cookie(SESSION_COOKIE, cookie, max_age=hours * 3600, path="/", httponly=True, samesite="Strict",
                        secure=request.is_secure)
    return response


@blueprint.post("/auth/login")
@documented("Sign in with a user name and password: sets the session cookie", body="Login", answer="SignedIn")
def login():
    data = LoginSchema().load(json_body())
    user = auth.store().user(data["username"])
    if not passwords.verify(user.password_hash if user else None, data["password"]):
        raise ApiError("wrong user name or password", 401)
    return signed_in(user.name, user.scopes)


@blueprint.post("/auth/setup")
@documented("Create the first admin with the one-time setup code `make up` printed, and sign in", body="Setup",
            status="201", answer="SignedIn")
def setup():
    data = SetupSchema().load(json_body())
    if not auth.store().take_setup_code(data["code"]):
        raise ApiError("code: not a valid setup code (used, expired, or not printed by this server)", 403)
    if not auth.store().create_user(data["username"], passwords.hash_password(data["password"]), ADMIN):
        raise Conflict(f"username: '{data['username']}' exists")
    return signed_in(data["username"], ADMIN, 201)


@blueprint.post("/auth/logout")
@documented("Sign out: ends the session")
def logout():
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        auth.store().delete_session(cookie)
        auth.guard().forget("session", cookie)
    response = json_response({"message": "signed out"})
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Strict", secure=request.is_secure)
    return response


@blueprint.get("/auth/me")
@documented("Who the request acts for, its scopes, and for a session its CSRF token")
def me():
    who = auth.principal()
    body = {"kind": who.kind, "name": who.name, "scopes": sorted(who.scopes),
            "metric_prefixes": list(who.metric_prefixes), "auth": auth.guard().enabled}
    if who.csrf:
        body["csrf_token"] = who.csrf
    return json_response(body)


@blueprint.post("/auth/password")
@documented("Change the signed-in user's password: ends the user's other sessions, this one goes on with a new "
            "cookie and CSRF token", body="Password", answer="SignedIn")
def change_password():
    who = auth.principal()
    if who.kind != "session":
        raise ApiError("only a signed-in user can change their password", 403)
    data = PasswordSchema().load(json_body())
    user = auth.store().user(who.name)
    if user is None or not passwords.verify(user.password_hash, data["current_password"]):
        raise ApiError("current_password: wrong password", 400)
    auth.store().set_password(user.name, passwords.hash_password(data["new_password"]))
    auth.guard().forget_principal("session", user.name)  # every other session of the user ends (other
    auth.store().delete_session(request.cookies.get(SESSION_COOKIE, ""))  # instances: within auth_cache_seconds)
    return signed_in(user.name, user.scopes)  # this one goes on as a new session


@blueprint.get("/auth/tokens")
@documented("List API tokens (never their secrets)")
def list_tokens():
    """Every token, or for an admin token limited to prefixes the tokens inside them."""
    return json_response([token.to_json() for token in auth.store().tokens() if auth.may_see(token.metric_prefixes)])


@blueprint.post("/auth/tokens")
@documented("Create an API token: the answer is the only time the token is shown", body="Token", status="201",
            answer="TokenInfo")
def create_token():
    """A token with no more than its maker holds (only admins, who hold every scope, make tokens): inside its
    metric prefixes, expiring no later."""
    data = TokenSchema().load(json_body())
    who = auth.principal()
    prefixes = auth.granted(data["metric_prefixes"], "a token")
    expires_at = expiry(data["expires_in_days"])
    if who.expires_at is not None and (expires_at is None or expires_at > who.expires_at):
        expires_at = who.expires_at
    raw, token = auth.store().create_token(data["name"], data["scopes"], owner=who.ident, metric_prefixes=prefixes,
                                           expires_at=expires_at)
    return json_response({**token.to_json(), "token": raw}, 201)


@blueprint.delete("/auth/tokens/<token_id>")
@documented("Revoke an API token (it stays listed, with revoked_at)")
def revoke_token(token_id: str):
    token = auth.store().token(token_id)
    if token is None or not auth.may_see(token.metric_prefixes) or not auth.store().revoke_token(token_id):
        raise NotFound(f"token '{token_id}' not found")
    auth.guard().forget_principal("token", token_id)
    return json_response({"message": "revoked", "id": token_id})


@blueprint.get("/auth/users")
@documented("List users")
def list_users():
    return json_response([user.to_json() for user in auth.store().users()])


@blueprint.post("/auth/users")
@documented("Create a user (scopes: read, write, delete, admin)", body="User", status="201", answer="UserInfo")
def create_user():
    data = UserSchema().load(json_body())
    auth.check_unlimited("a user")
    if not auth.store().create_user(data["username"], passwords.hash_password(data["password"]), data["scopes"]):
        raise Conflict(f"username: '{data['username']}' exists")
    return json_response({"username": data["username"], "scopes": sorted(data["scopes"])}, 201)


@blueprint.delete("/auth/users/<username>")
@documented("Delete a user (their sessions end within auth_cache_seconds)")
def delete_user(username: str):
    auth.check_unlimited("a user")
    if not auth.store().delete_user(username):
        raise NotFound(f"user '{username}' not found")
    return json_response({"message": "deleted", "username": username})
