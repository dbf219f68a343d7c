"""Bodies of the auth endpoints (sign-in, setup, tokens, users); also components of the OpenAPI document."""
from marshmallow import RAISE, Schema, fields, validate

from metrics_server.auth.passwords import MIN_LENGTH
from metrics_server.auth.tokens import SCOPES

USERNAME = validate.Regexp(r"^[A-Za-z0-9_.@-]{1,64}$",
                           error="expected 1 to 64 letters, digits or _ . @ -")
PASSWORD = validate.Length(min=MIN_LENGTH, max=1024, error=f"expected {MIN_LENGTH} to 1024 characters")
PREFIX = validate.Regexp(r"^[A-Za-z_][A-Za-z0-9_:.\-]{0,199}$", error="expected the start of a metric name")


def scopes(**kwargs) -> fields.List:
    return fields.List(fields.String(validate=validate.OneOf(SCOPES, error="expected one of " + ", ".join(SCOPES))),
                       validate=validate.Length(min=1, max=len(SCOPES), error="expected 1 to 4 scopes"), **kwargs)


class Strict(Schema):
    class Meta:
        unknown = RAISE


class LoginSchema(Strict):
    username = fields.String(required=True, validate=validate.Length(1, 64))
    password = fields.String(required=True, validate=validate.Length(1, 1024))


class SetupSchema(Strict):
    """The first admin, with the one-time code `make up` printed."""

    code = fields.String(required=True, validate=validate.Length(1, 200))
    username = fields.String(required=True, validate=USERNAME)
    password = fields.String(required=True, validate=PASSWORD)


class PasswordSchema(Strict):
    current_password = fields.String(required=True, validate=validate.Length(1, 1024))
    new_password = fields.String(required=True, validate=PASSWORD)


class UserSchema(Strict):
    username = fields.String(required=True, validate=USERNAME)
    password = fields.String(required=True, validate=PASSWORD, load_only=True)
    scopes = scopes(load_default=lambda: ["read"])


class UserInfoSchema(Schema):
    """A user as the API shows it (never the password's hash)."""

    username = fields.String(required=True)
    scopes = fields.List(fields.String(), required=True)


class SignedInSchema(UserInfoSchema):
    """The answer to sign-in and setup: the session cookie is set, the CSRF token is in the body."""

    csrf_token = fields.String(required=True, metadata={"description": "send it back as X-CSRF-Token"})


class TokenInfoSchema(Schema):
    """A token as the API shows it; `token` itself only in the answer that created it."""

    id = fields.String(required=True)
    name = fields.String(required=True)
    owner = fields.String(required=True)
    scopes = fields.List(fields.String(), required=True)
    metric_prefixes = fields.List(fields.String(), required=True)
    created_at = fields.String(required=True, allow_none=True)
    expires_at = fields.String(required=True, allow_none=True)
    revoked_at = fields.String(required=True, allow_none=True)
    last_used_at = fields.String(required=True, allow_none=True)
    token = fields.String(metadata={"description": "mts_<id>_<secret>: shown once, store it safely"})


class TokenSchema(Strict):
    """A token to create; the answer carries the token itself, once."""

    name = fields.String(required=True, validate=validate.Length(1, 100))
    scopes = scopes(required=True)
    metric_prefixes = fields.List(fields.String(validate=PREFIX), load_default=list,
                                  validate=validate.Length(max=100, error="expected at most 100 prefixes"))
    expires_in_days = fields.Float(load_default=None, allow_none=True,
                                   validate=validate.Range(min=0.0001, max=3650, error="expected 0.0001 to 3650"))
