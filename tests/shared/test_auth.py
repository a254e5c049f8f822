"""Caller tokens: an RPC declared for `reviewer` refuses every kind of bad caller with a typed error."""

import os
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from shared.platform.auth import Caller, TokenCache, TokenPolicy, Verifier, decode_token, public_keys_of, token_cache
from shared.platform.errors import Forbidden, NotAuthenticated
from shared.platform.revocations import RevocationList
from shared.platform.token_issuer import Issuer
from shared.platform.token_keys import DEV_PUBLIC_KEYS, SigningKey
from tests.shared.sample_services import SamplerService
from tests.support.tokens import ISSUER, PUBLIC_KEYS, SUITE_KEY

VERIFIER = Verifier(PUBLIC_KEYS, TokenPolicy(), RevocationList(Path("/nonexistent/revoked-tokens")))
OTHER = Issuer(SigningKey.generate(SUITE_KEY.kid))  # the same key id, another private key


def issue_token(sub, roles, issuer=ISSUER, **kwargs):
    return issuer.issue(sub, roles, **kwargs)


def signed(claims: dict, algorithm: str = "EdDSA") -> str:
    return jwt.encode(claims, SUITE_KEY.key, algorithm=algorithm, headers={"kid": SUITE_KEY.kid})


def test_token_round_trip():
    caller = decode_token(issue_token("rv-1", ["reviewer"]), VERIFIER)
    assert caller == Caller("rv-1", frozenset({"reviewer"}))


def claims() -> dict:
    return {"iss": "newcitizen-issuer", "aud": "newcitizen-platform", "jti": "j-1", "iat": int(time.time())}


def in_ten_minutes(**extra) -> dict:
    now = claims()
    return {**now, "exp": now["iat"] + 600, **extra}


# each token is made when its test runs, not at collection: a shard can run longer than a token lives
@pytest.mark.parametrize(
    ("make_token", "message"),
    [
        (lambda: None, "no caller token"),
        (lambda: "", "no caller token"),
        (lambda: "not-a-jwt", "invalid"),
        (lambda: issue_token("x", ["reviewer"], OTHER), "invalid"),
        (lambda: issue_token("x", ["reviewer"], ttl_seconds=10, now=time.time() - 3600), "expired"),
        (lambda: signed({**claims(), "sub": "x", "roles": ["reviewer"]}), "invalid"),  # no exp
        (lambda: signed(in_ten_minutes(sub="x", roles="reviewer")), "malformed roles"),
        (lambda: jwt.encode(in_ten_minutes(sub="x"), "s" * 32, algorithm="HS256"), "invalid"),
        (lambda: jwt.encode(in_ten_minutes(sub="x"), None, algorithm="none"), "invalid"),
    ],
    ids=["none", "empty", "not-a-jwt", "other-key", "expired", "no-exp", "malformed roles", "hs256", "alg-none"],
)
def test_bad_tokens_are_refused(make_token, message):
    with pytest.raises(NotAuthenticated, match=message):
        decode_token(make_token(), VERIFIER)


class FakeClock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_cached_token_is_refused_from_the_second_it_expires():
    issued = float(int(time.time()))  # a token carries whole seconds
    token = issue_token("rv-1", ["reviewer"], ttl_seconds=60, now=issued)
    clock = FakeClock(issued)
    cache = TokenCache(VERIFIER, clock=clock)
    assert cache.caller(token) == Caller("rv-1", frozenset({"reviewer"}))
    clock.now = issued + 59.9
    assert cache.caller(token).subject == "rv-1"  # served from the cache
    clock.now = issued + 60
    with pytest.raises(NotAuthenticated, match="expired"):
        cache.caller(token)


def test_the_cache_is_bounded_and_keyed_by_a_digest_not_the_token():
    cache = TokenCache(VERIFIER, size=2)
    tokens = [issue_token(f"person-{i}", ["resident"]) for i in range(3)]
    for token in tokens:
        cache.caller(token)
    assert len(cache) == 2
    keys = list(cache._entries)
    assert all(isinstance(key, bytes) and len(key) == 32 for key in keys)
    assert not any(b"person" in key for key in keys)


@pytest.mark.parametrize("token", ["not-a-jwt", issue_token("x", ["reviewer"], OTHER)])
def test_a_refused_token_is_never_cached(token):
    cache = TokenCache(VERIFIER)
    for _ in range(2):
        with pytest.raises(NotAuthenticated):
            cache.caller(token)
    assert len(cache) == 0


def test_a_token_cached_under_one_key_set_is_refused_under_another():
    token = issue_token("x", ["reviewer"])
    assert token_cache({"JWT_PUBLIC_KEYS": PUBLIC_KEYS}).caller(token).subject == "x"
    with pytest.raises(NotAuthenticated, match="invalid"):
        token_cache({"JWT_PUBLIC_KEYS": OTHER.key.public_setting()}).caller(token)


@pytest.mark.parametrize(
    ("roles", "wanted", "allowed"),
    [
        ({"reviewer"}, {"reviewer"}, True),
        ({"caseworker"}, {"reviewer"}, False),
        ({"admin"}, {"reviewer"}, True),
        ({"admin"}, {"caseworker", "resident"}, True),
        ({"admin"}, {"resident"}, False),
        ({"resident"}, {"caseworker"}, False),
        ({"service"}, {"service"}, True),
    ],
)
def test_role_rules(roles, wanted, allowed):
    assert Caller("s", frozenset(roles)).has_any(wanted) is allowed


def test_unknown_role_cannot_be_issued():
    with pytest.raises(ValueError, match="unknown roles: wizard"):
        issue_token("x", ["wizard"])


def test_dev_key_refused_in_production():
    assert public_keys_of({}) == DEV_PUBLIC_KEYS
    with pytest.raises(RuntimeError, match="production"):
        public_keys_of({"ENV": "production"})
    real = SigningKey.generate("2026-07").public_setting()
    assert public_keys_of({"ENV": "production", "JWT_PUBLIC_KEYS": real}) == real


def test_issue_command_prints_only_a_token(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "shared.platform.auth", "issue", "--sub", "cw-1", "--roles", "caseworker,reviewer"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "STAFF_REGISTRY": str(tmp_path / "staff.json")},
    )
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1
    dev = Verifier(DEV_PUBLIC_KEYS, TokenPolicy(), RevocationList(tmp_path / "revoked"))
    assert decode_token(lines[0], dev) == Caller("cw-1", frozenset({"caseworker", "reviewer"}))


@pytest.fixture
def sampler(container_factory, service_config, sqlite_url):
    config = service_config(sqlite_url)
    container = container_factory(SamplerService, config)
    container.start()
    return config


def _call(config, token):
    context = {"authorization": token} if token is not None else {}
    with ServiceRpcProxy("sampler", config, context_data=context, timeout=10) as proxy:
        return proxy.approve("case-1")


def test_rpc_for_reviewer_accepts_a_reviewer(sampler, token_for):
    assert _call(sampler, token_for("rv-7", "reviewer")) == {"case": "case-1", "by": "rv-7"}


@pytest.mark.parametrize(
    ("make_token", "error", "message"),
    [
        (lambda t: None, NotAuthenticated, "no caller token"),
        (lambda t: issue_token("rv", ["reviewer"], OTHER), NotAuthenticated, "invalid"),
        (lambda t: t("rv", "reviewer", ttl_seconds=1, now=time.time() - 60), NotAuthenticated, "expired"),
        (lambda t: t("cw", "caseworker"), Forbidden, "requires one of the roles: reviewer"),
    ],
    ids=["no-token", "bad-signature", "expired", "wrong-role"],
)
def test_rpc_for_reviewer_refuses_bad_callers_with_typed_errors(sampler, token_for, make_token, error, message):
    with pytest.raises(error, match=message):
        _call(sampler, make_token(token_for))


def test_a_resident_token_names_the_resident_id_every_service_computes(tmp_path):
    from shared.platform.token_issuer import resident_token
    from tests.support.residents import id_number, subject_of

    number = id_number()
    config = {"PII_HMAC_KEY": "test-hmac-key", "JWT_PRIVATE_KEY": SUITE_KEY.setting()}
    assert decode_token(resident_token(config, number), VERIFIER) == Caller(subject_of(number), frozenset({"resident"}))
