"""Ed25519 keys for caller tokens, written as `KID:BASE64URL` so each fits in one environment variable.

    JWT_PRIVATE_KEY=2026-07:<32-byte seed>            # the issuer only
    JWT_PUBLIC_KEYS=2026-07:<public key>,2026-01:<…>  # every service: the set a token's `kid` picks from

`python -m shared.platform.auth keygen --kid 2026-07` prints a new pair. The dev pair below is published in this
repository, so anyone can sign with it: it is used only outside production, and a production start refuses
it (`shared.platform.secret_settings.EXAMPLE_VALUES`).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

DEV_KID = "dev-only"
DEV_PRIVATE_KEY = "dev-only:kRBolkSn8zS13_7jZ0Es_PEfU8Q3SukdFoUwHRugHI8"  # noqa: S105 (refused in production)
DEV_PUBLIC_KEYS = "dev-only:GPy9XOfGTuRocIHG0M0zKBkmK3vdjTiwTQmo9VDNcz8"
KID_SHAPE = re.compile(r"[A-Za-z0-9._-]{1,64}")


class KeyFormatError(ValueError):
    """A key setting that is not `KID:BASE64URL` of 32 bytes; the message names no key material."""


@dataclass(frozen=True)
class SigningKey:
    kid: str
    key: Ed25519PrivateKey

    @classmethod
    def generate(cls, kid: str) -> SigningKey:
        return cls(_kid(kid), Ed25519PrivateKey.generate())

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.key.public_key()

    def setting(self) -> str:
        raw = self.key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return f"{self.kid}:{_encode(raw)}"

    def public_setting(self) -> str:
        return public_keys_setting({self.kid: self.public_key})


def parse_signing_key(value: str) -> SigningKey:
    kid, raw = _split(value)
    return SigningKey(kid, Ed25519PrivateKey.from_private_bytes(raw))


def parse_public_keys(value: str, setting: str = "JWT_PUBLIC_KEYS") -> dict[str, Ed25519PublicKey]:
    keys: dict[str, Ed25519PublicKey] = {}
    for entry in (part.strip() for part in str(value).split(",")):
        if not entry:
            continue
        kid, raw = _split(entry)
        if kid in keys:
            raise KeyFormatError(f"{setting} names key id {kid!r} twice")
        keys[kid] = Ed25519PublicKey.from_public_bytes(raw)
    if not keys:
        raise KeyFormatError(f"{setting} holds no key")
    return keys


def public_keys_setting(keys: dict[str, Ed25519PublicKey]) -> str:
    return ",".join(
        f"{kid}:{_encode(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))}"
        for kid, key in keys.items()
    )


def _split(value: str) -> tuple[str, bytes]:
    kid, _, encoded = str(value).strip().partition(":")
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise KeyFormatError("a token key must be KID:BASE64URL of 32 bytes")
    return _kid(kid), raw


def _kid(kid: str) -> str:
    if not KID_SHAPE.fullmatch(kid):
        raise KeyFormatError("a key id is 1 to 64 letters, digits, '.', '_' or '-'")
    return kid


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
