"""Caller tokens: an RPC declared for `reviewer` refuses every kind of bad caller with a typed error."""

import subprocess
import sys
import time

import jwt
import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from shared.auth import DEV_SECRET, Caller, decode_token, issue_token, resolve_secret
from shared.errors import Forbidden, NotAuthenticated
from tests.shared.sample_services import SamplerService

SECRET = "test-secret-for-the-suite-0123456789"


def test_token_round_trip():
    caller = decode_token(issue_token("rv-1", ["reviewer"], SECRET), SECRET)
    assert caller == Caller("rv-1", frozenset({"reviewer"}))


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (None, "no caller token"),
        ("", "no caller token"),
        ("not-a-jwt", "invalid"),
        (issue_token("x", ["reviewer"], "another-secret-of-sufficient-length-123"), "invalid"),
        (issue_token("x", ["reviewer"], SECRET, ttl_seconds=10, now=time.time() - 3600), "expired"),
        (jwt.encode({"sub": "x", "roles": ["reviewer"]}, SECRET, algorithm="HS256"), "invalid"),  # no exp
        (
            jwt.encode({"sub": "x", "roles": "reviewer", "exp": time.time() + 86400}, SECRET, algorithm="HS256"),
            "malformed roles",
        ),
        (
            jwt.encode({"sub": "x", "roles": ["reviewer"], "exp": time.time() + 86400}, SECRET, algorithm="HS512"),
            "invalid",
        ),
    ],
)
def test_bad_tokens_are_refused(token, message):
    with pytest.raises(NotAuthenticated, match=message):
        decode_token(token, SECRET)


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
        issue_token("x", ["wizard"], SECRET)


def test_dev_secret_refused_in_production():
    assert resolve_secret({}) == DEV_SECRET
    with pytest.raises(RuntimeError, match="production"):
        resolve_secret({"ENV": "production"})
    assert resolve_secret({"ENV": "production", "JWT_SECRET": "real-secret"}) == "real-secret"


def test_issue_command_prints_only_a_token():
    out = subprocess.run(
        [sys.executable, "-m", "shared.auth", "issue", "--sub", "cw-1", "--roles", "caseworker,reviewer"],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1
    assert decode_token(lines[0], DEV_SECRET) == Caller("cw-1", frozenset({"caseworker", "reviewer"}))


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
        (lambda t: issue_token("rv", ["reviewer"], "a-different-secret-0123456789abcdef"), NotAuthenticated, "invalid"),
        (lambda t: t("rv", "reviewer", ttl_seconds=1, now=time.time() - 60), NotAuthenticated, "expired"),
        (lambda t: t("cw", "caseworker"), Forbidden, "requires one of the roles: reviewer"),
    ],
    ids=["no-token", "bad-signature", "expired", "wrong-role"],
)
def test_rpc_for_reviewer_refuses_bad_callers_with_typed_errors(sampler, token_for, make_token, error, message):
    with pytest.raises(error, match=message):
        _call(sampler, make_token(token_for))
