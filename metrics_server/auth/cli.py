"""Tokens and users from the command line, straight to Cassandra (also the way back in when no admin can sign in):

    python -m metrics_server.auth token create grafana --scope read [--prefix app_] [--expires-days 90]
    python -m metrics_server.auth token list | token revoke <id>
    python -m metrics_server.auth user create alice --scope admin [--password-stdin] | user list | user delete alice
    python -m metrics_server.auth user password alice [--password-stdin]
    python -m metrics_server.auth setup --url http://127.0.0.1:8080   (what `make up` runs: how to sign in)

`metrics-server auth ...` is the same command.

Settings as for the server (METRICS_SERVER_CONFIG, METRICS_SERVER_*).
"""
import argparse
import getpass
import os
import sys

from metrics_server.auth import passwords
from metrics_server.auth.store import AuthStore, expiry
from metrics_server.auth.tokens import SCOPES
from metrics_server.config import ConfigError, load_config
from metrics_server.errors import ApiError
from metrics_server.storage.db import Database


def read_password(args) -> str:
    """From stdin (one line) or asked twice at the terminal; exits naming the problem when unacceptable."""
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise SystemExit("error: the two passwords differ")
    problem = passwords.check_new(password)
    if problem:
        raise SystemExit(f"error: {problem}")
    return password


def setup(store: AuthStore, url: str) -> str:
    """How to sign in: a one-time setup link while no user exists (a new code each time), else where to go."""
    if store.any_user():
        return (f"sign in at {url}/ (lost the password? python -m metrics_server.auth user password <name>)")
    code = store.create_setup_code()
    return (f"no user yet: open {url}/#setup={code} within 24 h to create the first admin "
            f"(the link works once)")


def run(args, store: AuthStore) -> str:
    if args.what == "token" and args.action == "create":
        token, stored = store.create_token(args.name, args.scope or ["read"], owner="cli",
                                           metric_prefixes=args.prefix or (), expires_at=expiry(args.expires_days))
        return token if args.quiet else f"{token}\n(id {stored.id}, scopes {', '.join(sorted(stored.scopes))}; " \
                                        "shown only now: store it safely)"
    if args.what == "token" and args.action == "list":
        return "\n".join(f"{t.id}  {t.name:20}  {','.join(sorted(t.scopes)):22}  "
                         f"{'revoked' if t.revoked_at else 'expires ' + str(t.expires_at or 'never')}  "
                         f"last used {t.last_used_at or 'never'}" for t in store.tokens()) or "no tokens"
    if args.what == "token" and args.action == "revoke":
        if not store.revoke_token(args.name):
            raise SystemExit(f"error: token '{args.name}' not found")
        return f"revoked {args.name}"
    if args.action == "create":
        if not store.create_user(args.name, passwords.hash_password(read_password(args)), args.scope or ["read"]):
            raise SystemExit(f"error: user '{args.name}' exists")
        return f"created user {args.name}"
    if args.action == "password":
        if not store.set_password(args.name, passwords.hash_password(read_password(args))):
            raise SystemExit(f"error: user '{args.name}' not found")
        return f"password of {args.name} changed"
    if args.action == "delete":
        if not store.delete_user(args.name):
            raise SystemExit(f"error: user '{args.name}' not found")
        return f"deleted user {args.name}"
    return "\n".join(f"{u.name}  {','.join(sorted(u.scopes))}" for u in store.users()) or "no users"


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m metrics_server.auth", description=__doc__.split("\n")[0])
    kinds = top.add_subparsers(dest="what", required=True)
    token = kinds.add_parser("token", help="API tokens")
    token.add_argument("action", choices=("create", "list", "revoke"))
    token.add_argument("name", nargs="?", help="create: what the token is for; revoke: the token's id")
    token.add_argument("--scope", action="append", choices=SCOPES, help="repeat for several (default read)")
    token.add_argument("--prefix", action="append", help="limit to metric names starting with this (repeatable)")
    token.add_argument("--expires-days", type=float, help="expire after this many days (default never)")
    token.add_argument("--quiet", action="store_true", help="print the token alone")
    user = kinds.add_parser("user", help="dashboard users")
    user.add_argument("action", choices=("create", "list", "password", "delete"))
    user.add_argument("name", nargs="?")
    user.add_argument("--scope", action="append", choices=SCOPES, help="repeat for several (default read)")
    user.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    first = kinds.add_parser("setup", help="print how to sign in (a one-time setup link while no user exists)")
    first.add_argument("--url", default="http://127.0.0.1:8080")
    return top


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    needs_name = (args.what == "token" and args.action in ("create", "revoke")) or (
        args.what == "user" and args.action != "list")
    if needs_name and not args.name:
        print(f"error: {args.what} {args.action} needs a name", file=sys.stderr)
        return 2
    try:
        config = load_config(os.environ.get("METRICS_SERVER_CONFIG"))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    db = Database(config)
    try:
        store = AuthStore(db)
        print(setup(store, args.url.rstrip("/")) if args.what == "setup" else run(args, store))
    except ApiError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1
    finally:
        db.close()
    return 0
