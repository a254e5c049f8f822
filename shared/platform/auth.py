"""Caller identity: Ed25519-signed JWTs carried raw in nameko context data under `authorization`.

    python -m shared.platform.auth issue --sub NAME --roles reviewer,caseworker   # a member of staff
    python -m shared.platform.auth issue --resident ID_NUMBER                     # that resident

prints a token signed with the issuer's private key (`JWT_PRIVATE_KEY`; the dev key outside production).
Only the issuer holds that key; a service holds the public key set (`JWT_PUBLIC_KEYS`, by key id) and
accepts a token only when its `kid` is in the set, its signature holds, its issuer and audience are the
platform's, its lifetime is at most `JWT_MAX_TTL_SECONDS`, and its id (`jti`) is not revoked
(`shared.platform.revocations`). Issuing is `shared.platform.token_issuer`; docs/security.md has the trust model.

A client sends the same token with every call, so a decoded token is kept (`TokenCache`: bounded LRU per
key set, keyed by a SHA-256 digest of the token, never the token or its subject) until its `exp`, which is
checked again on every use, as the revocation list is: a cached token is refused from the second it
expires or is revoked, as an uncached one is. Only tokens that decoded are kept.
"""

from __future__ import annotations

import functools
import hashlib
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import jwt
from nameko.extensions import DependencyProvider

from shared.platform.config import is_production
from shared.platform.errors import Forbidden, NotAuthenticated
from shared.platform.revocations import RevocationList, revocation_path
from shared.platform.secret_settings import refuse_example_secrets
from shared.platform.token_keys import DEV_PUBLIC_KEYS, KeyFormatError, parse_public_keys

CONTEXT_KEY = "authorization"
ALGORITHM = "EdDSA"
ROLES = frozenset({"resident", "caseworker", "reviewer", "admin", "service"})
STAFF_ROLES = frozenset({"caseworker", "reviewer"})
DEFAULT_TTL_SECONDS = 8 * 3600
DEFAULT_ISSUER = "newcitizen-issuer"
DEFAULT_AUDIENCE = "newcitizen-platform"
TOKEN_CACHE_SIZE = 4096
REQUIRED_CLAIMS = ["sub", "exp", "iat", "iss", "aud", "jti"]


@dataclass(frozen=True)
class TokenPolicy:
    """What issuer and services agree on: who issues, for whom, for how long at most."""

    issuer: str = DEFAULT_ISSUER
    audience: str = DEFAULT_AUDIENCE
    max_ttl_seconds: int = DEFAULT_TTL_SECONDS

    @classmethod
    def from_config(cls, config: dict) -> TokenPolicy:
        return cls(
            issuer=str(config.get("JWT_ISSUER") or DEFAULT_ISSUER),
            audience=str(config.get("JWT_AUDIENCE") or DEFAULT_AUDIENCE),
            max_ttl_seconds=int(config.get("JWT_MAX_TTL_SECONDS") or DEFAULT_TTL_SECONDS),
        )


def public_keys_of(config: dict) -> str:
    refuse_example_secrets(config)
    value = str(config.get("JWT_PUBLIC_KEYS") or "").strip()
    if is_production(config) and (not value or DEV_PUBLIC_KEYS in value):
        raise RuntimeError("JWT_PUBLIC_KEYS must be set in production; the dev key is refused")
    return value or DEV_PUBLIC_KEYS


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


@dataclass(frozen=True)
class Verified:
    caller: Caller
    expires: float  # epoch seconds
    token_id: str


class Verifier:
    """Checks tokens against one public key set, policy and revocation list."""

    def __init__(self, public_keys: str, policy: TokenPolicy, revoked: RevocationList):
        try:
            self.keys = parse_public_keys(public_keys)
        except KeyFormatError as error:
            raise RuntimeError(str(error)) from None
        self.policy = policy
        self.revoked = revoked

    @classmethod
    def from_config(cls, config: dict) -> Verifier:
        return cls(public_keys_of(config), TokenPolicy.from_config(config), RevocationList(revocation_path(config)))

    def verify(self, token: str | None) -> Verified:
        if not token:
            raise NotAuthenticated("no caller token in context data 'authorization'")
        claims = self._claims(token)
        if claims["exp"] - claims["iat"] > self.policy.max_ttl_seconds:
            raise NotAuthenticated("caller token is invalid: its lifetime is above the maximum")
        if str(claims["jti"]) in self.revoked:
            raise NotAuthenticated("caller token has been revoked")
        roles = claims.get("roles") or []
        if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
            raise NotAuthenticated("caller token has malformed roles")
        caller = Caller(subject=str(claims["sub"]), roles=frozenset(roles))
        return Verified(caller, float(claims["exp"]), str(claims["jti"]))

    def _claims(self, token: str) -> dict:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self.keys.get(kid) if isinstance(kid, str) else None
            if key is None:
                raise NotAuthenticated("caller token is invalid: unknown key id")
            return jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=self.policy.issuer,
                audience=self.policy.audience,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError:
            raise NotAuthenticated("caller token has expired") from None
        except jwt.InvalidIssuerError:
            raise NotAuthenticated("caller token is invalid: wrong issuer") from None
        except jwt.InvalidAudienceError:
            raise NotAuthenticated("caller token is invalid: wrong audience") from None
        except jwt.InvalidTokenError:
            raise NotAuthenticated("caller token is invalid") from None


def decode_token(token: str | None, verifier: Verifier) -> Caller:
    return verifier.verify(token).caller


class TokenCache:
    """Decoded tokens of one verifier, until each one's `exp`; the least recently used go beyond `size`."""

    def __init__(self, verifier: Verifier, size: int = TOKEN_CACHE_SIZE, clock: Callable[[], float] = time.time):
        self.verifier = verifier
        self.size = size
        self.clock = clock
        self._entries: OrderedDict[bytes, Verified] = OrderedDict()

    def caller(self, token: str | None) -> Caller:
        if not token or not isinstance(token, str):
            return decode_token(token, self.verifier)
        key = hashlib.sha256(token.encode()).digest()
        entry = self._entries.get(key)
        if entry is not None:
            if self.clock() >= entry.expires:  # PyJWT's own rule: expired once now >= exp
                del self._entries[key]
                raise NotAuthenticated("caller token has expired")
            if entry.token_id in self.verifier.revoked:
                del self._entries[key]
                raise NotAuthenticated("caller token has been revoked")
            self._entries.move_to_end(key)
            return entry.caller
        entry = self.verifier.verify(token)
        self._entries[key] = entry
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return entry.caller

    def __len__(self) -> int:
        return len(self._entries)


_caches: dict[tuple, TokenCache] = {}


def token_cache(config: dict) -> TokenCache:
    """The process's cache for tokens checked under `config`'s keys and policy (shared by `self.auth` and
    `self.audit`)."""
    identity = (public_keys_of(config), TokenPolicy.from_config(config), revocation_path(config))
    cache = _caches.get(identity)
    if cache is None:
        cache = _caches[identity] = TokenCache(Verifier.from_config(config))
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
        self.tokens = token_cache(self.container.config)

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


if __name__ == "__main__":
    from shared.platform.token_cli import main

    sys.exit(main())
