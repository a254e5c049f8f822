"""Issuing caller tokens: the one place that holds the private key (`JWT_PRIVATE_KEY`).

The issuer is the operator's side (`python -m shared.platform.auth issue`, the `newcitizen` CLI, the ops pod); no
service's configuration has the private key. A staff token is issued only for a name in the staff registry
(`shared.platform.staff_registry`), with roles it grants and the registry's staff id as subject; a resident token
only for a resident_id, computed here from the ID number with the deployment's `PII_HMAC_KEY`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import jwt

from shared.platform.auth import ALGORITHM, DEFAULT_TTL_SECONDS, ROLES, TokenPolicy
from shared.platform.config import is_production
from shared.platform.ids import new_id
from shared.platform.personal_data import PiiKeys, normalise_id_number, resident_id
from shared.platform.secret_settings import refuse_example_secrets
from shared.platform.staff_registry import StaffRegistry, needs_registry, registry_path
from shared.platform.token_keys import DEV_PRIVATE_KEY, KeyFormatError, SigningKey, parse_signing_key

DEV_PII_HMAC_KEY = "dev-only-hmac-key"  # services/*/config.yaml's default


def known_roles(roles: Iterable[str]) -> set[str]:
    roles = set(roles)
    unknown = roles - ROLES
    if unknown:
        raise ValueError(f"unknown roles: {', '.join(sorted(unknown))}")
    return roles


@dataclass(frozen=True)
class Issuer:
    key: SigningKey
    policy: TokenPolicy = TokenPolicy()

    def issue(self, sub: str, roles: Iterable[str], ttl_seconds: int | None = None, now: float | None = None) -> str:
        roles = sorted(known_roles(roles))
        ttl = min(DEFAULT_TTL_SECONDS, self.policy.max_ttl_seconds) if ttl_seconds is None else ttl_seconds
        if not 0 < ttl <= self.policy.max_ttl_seconds:
            raise ValueError(f"a token lives between 1 and {self.policy.max_ttl_seconds} seconds")
        issued = int(now if now is not None else time.time())
        claims = {
            "iss": self.policy.issuer,
            "aud": self.policy.audience,
            "sub": sub,
            "roles": roles,
            "iat": issued,
            "exp": issued + ttl,
            "jti": new_id(),
        }
        return jwt.encode(claims, self.key.key, algorithm=ALGORITHM, headers={"kid": self.key.kid})


def issuer_from_config(config: dict) -> Issuer:
    refuse_example_secrets(config)
    value = str(config.get("JWT_PRIVATE_KEY") or "").strip()
    if is_production(config) and (not value or value == DEV_PRIVATE_KEY):
        raise RuntimeError("JWT_PRIVATE_KEY must be set where tokens are issued; the dev key is refused")
    try:
        key = parse_signing_key(value or DEV_PRIVATE_KEY)
    except KeyFormatError as error:
        raise RuntimeError(f"JWT_PRIVATE_KEY: {error}") from None
    return Issuer(key, TokenPolicy.from_config(config))


def issue_checked(config: dict, sub: str, roles: Iterable[str], ttl_seconds: int | None = None) -> str:
    """A token for `sub` with `roles`, staff roles only as the staff registry grants them (outside
    production, `sub` is first entered in the local registry with those roles)."""
    issuer = issuer_from_config(config)
    roles = known_roles(roles)
    if needs_registry(roles):
        registry = StaffRegistry(registry_path(config))
        if not is_production(config):
            registry.enrol(sub, roles)
        sub = registry.resolve(sub, roles).staff_id
    return issuer.issue(sub, roles, ttl_seconds)


def resident_token(config: dict, id_number: str, ttl_seconds: int | None = None) -> str:
    """The resident's own token: its subject is their resident_id, as every service computes it."""
    hmac_key = str(config.get("PII_HMAC_KEY") or "")
    if not hmac_key and is_production(config):
        raise RuntimeError("PII_HMAC_KEY must be set to issue a resident token in production")
    # only the HMAC half makes a resident_id; the encryption key is not needed here
    keys = PiiKeys.from_config(hmac_key or DEV_PII_HMAC_KEY, "not-used")
    subject = resident_id(normalise_id_number(id_number), keys)
    return issuer_from_config(config).issue(subject, ["resident"], ttl_seconds)
