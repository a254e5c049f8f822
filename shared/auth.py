"""Caller identity: signed JWTs carried raw in nameko context data under `authorization`.

    python -m shared.auth issue --sub NAME --roles reviewer,caseworker

prints a token signed with the secret of the local config (the dev default unless `JWT_SECRET` is set).

A client sends the same token with every call, so a decoded token is kept (`TokenCache`: bounded LRU per
secret, keyed by a SHA-256 digest of the token, never the token or its subject) until its `exp`, which is
checked again on every use: a cached token is refused from the second it expires, as an uncached one is.
Only tokens that decoded are kept; a bad one is decoded (and refused) each time.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import jwt
from nameko.extensions import DependencyProvider

from shared.errors import Forbidden, NotAuthenticated
from shared.secret_settings import refuse_example_secrets

CONTEXT_KEY = "authorization"
ALGORITHM = "HS256"
DEV_SECRET = "dev-only-jwt-secret-change-me-0123456789"  # noqa: S105 (refused when ENV=production)
ROLES = frozenset({"resident", "caseworker", "reviewer", "admin", "service"})
STAFF_ROLES = frozenset({"caseworker", "reviewer"})
DEFAULT_TTL_SECONDS = 8 * 3600
TOKEN_CACHE_SIZE = 4096


def resolve_secret(config: dict) -> str:
    refuse_example_secrets(config)
    secret = config.get("JWT_SECRET") or DEV_SECRET
    if str(config.get("ENV", "development")).lower() == "production" and secret == DEV_SECRET:
        raise RuntimeError("JWT_SECRET must be set in production; the dev default is refused")
    return secret


def issue_token(
    sub: str, roles: Iterable[str], secret: str, ttl_seconds: int = DEFAULT_TTL_SECONDS, now: float | None = None
) -> str:
    roles = sorted(set(roles))
    unknown = set(roles) - ROLES
    if unknown:
        raise ValueError(f"unknown roles: {', '.join(sorted(unknown))}")
    issued = int(now if now is not None else time.time())
    claims = {"sub": sub, "roles": roles, "iat": issued, "exp": issued + ttl_seconds}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


@dataclass(frozen=True)
class Caller:
    subject: str
    roles: frozenset[str]

    def has_any(self, roles: Iterable[str]) -> bool:
        wanted = set(roles)
        # admin may do whatever the staff roles may; resident-only and service-only calls stay theirs
        if "admin" in self.roles and wanted & (STAFF_ROLES | {"admin"}):
            return True
        return bool(self.roles & wanted)

    @property
    def is_staff(self) -> bool:
        # the kiosk's `service` role is not staff: it acts for no one and reads no one's cases
        return bool(self.roles & (STAFF_ROLES | {"admin"}))

    @property
    def is_resident_only(self) -> bool:
        """A resident without a staff role: acts for, and sees, only themselves (and their minor child)."""
        return "resident" in self.roles and not self.is_staff


def require_acting_for(caller: Caller, person: str, parent: str | None = None, minor: bool = False) -> None:
    """Refuse a resident acting in someone else's name; staff act for whoever stands at the counter.

    `person` is the resident_id the request is about and `parent` that of the parent it names, if any; a
    resident's token subject is their own resident_id. A resident may act for themselves (naming no
    parent but themselves), or as the named parent of a `minor` person. The refusal names no one.
    """
    if caller.is_staff:
        return
    for_self = person == caller.subject and parent in (None, caller.subject)
    for_own_child = minor and parent == caller.subject
    if not (for_self or for_own_child):
        raise Forbidden("a resident may act only for themselves or their own minor child")


def decode_token(token: str | None, secret: str) -> Caller:
    return _decode(token, secret)[0]


def _decode(token: str | None, secret: str) -> tuple[Caller, float]:
    """The caller and the token's expiry (epoch seconds)."""
    if not token:
        raise NotAuthenticated("no caller token in context data 'authorization'")
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]})
    except jwt.ExpiredSignatureError:
        raise NotAuthenticated("caller token has expired") from None
    except jwt.InvalidTokenError:
        raise NotAuthenticated("caller token is invalid") from None
    roles = claims.get("roles") or []
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise NotAuthenticated("caller token has malformed roles")
    return Caller(subject=str(claims["sub"]), roles=frozenset(roles)), float(claims["exp"])


class TokenCache:
    """Decoded tokens of one secret, until each one's `exp`; the least recently used go beyond `size`."""

    def __init__(self, secret: str, size: int = TOKEN_CACHE_SIZE, clock: Callable[[], float] = time.time):
        self.secret = secret
        self.size = size
        self.clock = clock
        self._entries: OrderedDict[bytes, tuple[Caller, float]] = OrderedDict()

    def caller(self, token: str | None) -> Caller:
        if not token or not isinstance(token, str):
            return decode_token(token, self.secret)
        key = hashlib.sha256(token.encode()).digest()
        entry = self._entries.get(key)
        if entry is not None:
            caller, expires = entry
            if self.clock() >= expires:  # PyJWT's own rule: expired once now >= exp
                del self._entries[key]
                raise NotAuthenticated("caller token has expired")
            self._entries.move_to_end(key)
            return caller
        caller, expires = _decode(token, self.secret)
        self._entries[key] = (caller, expires)
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return caller

    def __len__(self) -> int:
        return len(self._entries)


_caches: dict[str, TokenCache] = {}


def token_cache(secret: str) -> TokenCache:
    """The process's cache for tokens signed with `secret` (shared by `self.auth` and `self.audit`)."""
    cache = _caches.get(secret)
    if cache is None:
        cache = _caches[secret] = TokenCache(secret)
    return cache


class CallerAuth:
    """What a worker sees as `self.auth`: the caller, checked lazily so public RPCs need no token."""

    def __init__(self, token: str | None, tokens: TokenCache):
        self._token = token
        self._tokens = tokens
        self._caller: Caller | None = None

    @property
    def caller(self) -> Caller:
        if self._caller is None:
            self._caller = self._tokens.caller(self._token)
        return self._caller

    @property
    def token(self) -> str | None:
        return self._token

    def require(self, *roles: str) -> Caller:
        caller = self.caller
        if roles and not caller.has_any(roles):
            raise Forbidden(f"requires one of the roles: {', '.join(roles)}")
        return caller


class Auth(DependencyProvider):
    """Injects a `CallerAuth` built from the worker's context data."""

    def setup(self):
        self.tokens = token_cache(resolve_secret(self.container.config))

    def get_dependency(self, worker_ctx):
        return CallerAuth(worker_ctx.context_data.get(CONTEXT_KEY), self.tokens)


def requires(*roles: str) -> Callable:
    """Declare the roles an RPC needs: `@rpc` above, `@requires("reviewer")` below it."""
    unknown = set(roles) - ROLES
    if unknown:
        raise ValueError(f"unknown roles: {', '.join(sorted(unknown))}")

    def decorate(method: Callable) -> Callable:
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            self.auth.require(*roles)
            return method(self, *args, **kwargs)

        wrapper.required_roles = roles
        return wrapper

    return decorate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.auth")
    commands = parser.add_subparsers(dest="command", required=True)
    issue = commands.add_parser("issue", help="print a signed caller token")
    issue.add_argument("--sub", required=True)
    issue.add_argument("--roles", required=True, help="comma-separated: " + ",".join(sorted(ROLES)))
    issue.add_argument("--ttl", type=int, default=DEFAULT_TTL_SECONDS, help="seconds")
    args = parser.parse_args(argv)
    config = {"JWT_SECRET": os.environ.get("JWT_SECRET"), "ENV": os.environ.get("ENV", "development")}
    roles = [role.strip() for role in args.roles.split(",") if role.strip()]
    print(issue_token(args.sub, roles, resolve_secret(config), ttl_seconds=args.ttl))
    return 0


if __name__ == "__main__":
    sys.exit(main())
