"""The pure parts of access control: which scope each route needs, the token format, the rate limiter."""
import pytest

from metrics_server.auth import policy, tokens
from metrics_server.auth.ratelimit import RateLimiter


@pytest.mark.parametrize("method, rule, scope", [
    ("GET", "/api/health", policy.PUBLIC),
    ("GET", "/api/openapi.json", policy.PUBLIC),
    ("GET", "/api/docs/<path:path>", policy.PUBLIC),
    ("POST", "/api/auth/login", policy.PUBLIC),
    ("GET", "/api/auth/me", policy.SIGNED_IN),
    ("GET", "/api/metrics", "read"),
    ("HEAD", "/api/metrics/<name>/data", "read"),
    ("POST", "/api/v1/query", "read"),
    ("POST", "/api/v1/query_range", "read"),
    ("POST", "/api/write", "write"),
    ("POST", "/write", "write"),
    ("POST", "/api/v1/write", "write"),
    ("POST", "/api/v2/write", "write"),
    ("POST", "/v1/metrics", "write"),
    ("PUT", "/api/dashboards/<id>", "write"),
    ("POST", "/api/something_added_later", "write"),
    ("DELETE", "/api/metrics/<name>", "delete"),
    ("GET", "/api/auth/tokens", "admin"),
    ("DELETE", "/api/auth/users/<username>", "admin"),
    ("POST", "/api/docs/<path:path>", "write"),
])
def test_each_route_needs_the_scope_of_the_table(method, rule, scope):
    assert policy.required_scope(method, rule) == scope


def test_a_new_token_is_prefixed_random_and_stored_only_as_its_hash():
    token, token_id, digest = tokens.new_token()
    assert token.startswith(f"mts_{token_id}_") and len(token) == 4 + 8 + 1 + 43
    parsed_id, secret = tokens.parse(token)
    assert parsed_id == token_id and tokens.matches(secret, digest) and secret.encode() not in digest
    assert not tokens.matches(secret[:-1] + ("A" if secret[-1] != "A" else "B"), digest)
    assert tokens.new_token()[0] != token


@pytest.mark.parametrize("text", ["", "mts_", "Bearer x", "mts_abcdefgh_short", "xyz_abcdefgh_" + "a" * 43])
def test_malformed_tokens_are_refused_before_any_lookup(text):
    assert tokens.parse(text) is None


def test_admin_carries_every_scope():
    assert tokens.expand({"admin"}) == set(tokens.SCOPES) and tokens.expand({"read"}) == {"read"}


def test_rate_limiter_allows_a_burst_then_says_when_to_retry():
    clock = [100.0]
    limiter = RateLimiter(2, clock=lambda: clock[0])
    assert [limiter.retry_after("t") for _ in range(4)] == [0, 0, 0, 0]  # burst of twice the rate
    assert limiter.retry_after("t") == 1 and limiter.retry_after("other") == 0
    clock[0] += 0.5
    assert limiter.retry_after("t") == 0 and limiter.retry_after("t") == 1
    assert RateLimiter(0).retry_after("t") == 0  # 0 is off


@pytest.mark.parametrize("asked, held, allowed", [
    ((), (), True),                         # unlimited within unlimited
    (("app_",), (), True),                  # anything within unlimited
    ((), ("app_",), False),                 # unlimited is more than a prefix holds
    (("app_web_",), ("app_",), True),       # a narrower prefix
    (("app_", "db_"), ("app_",), False),    # one of them beyond
    (("ap",), ("app_",), False),            # a shorter prefix covers more names
    (("db_x",), ("app_", "db_"), True),
])
def test_a_grant_is_within_what_is_held_only_when_every_name_it_covers_is_held(asked, held, allowed):
    assert policy.within(asked, held) is allowed


def test_a_limited_group_refuses_a_recording_rule_writing_outside_its_prefixes():
    from metrics_server.alerting.rules import RuleError, parse_group

    group = {"name": "g", "metric_prefixes": ["app_"], "rules": [{"record": "app_sum", "expr": "1"}]}
    assert parse_group(group).metric_prefixes == ("app_",)
    with pytest.raises(RuleError, match="record: the group may only write metrics starting with app_"):
        parse_group({**group, "rules": [{"record": "db_up", "expr": "1"}]})


def test_a_limited_group_queries_only_with_its_prefixes():
    from metrics_server.alerting.engine import evaluate_group
    from metrics_server.alerting.rules import parse_group

    asked = []

    def query(expr, at_ms, prefixes=()):
        asked.append(prefixes)
        return [({"__name__": "app_x"}, 1.0)]

    for prefixes in ([], ["app_"]):
        evaluate_group(parse_group({"name": "g", "metric_prefixes": prefixes, "rules": [
            {"alert": "A", "expr": "app_x", "annotations": {"s": "{{ with query \"app_x\" }}{{ . }}{{ end }}"}}]}),
            {}, 60_000, query)
    assert asked == [(), (), ("app_",), ("app_",)]  # the rule's and its template's queries alike
