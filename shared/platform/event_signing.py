"""Signed events: each service signs what it publishes with a key of its own, and a consumer accepts an
event only when it verifies under a key of the service its envelope names as the source.

    EVENT_SIGNING_KEY=housing.2026-12:<32-byte seed>                   # each service its own, nobody else's
    EVENT_PUBLIC_KEYS=housing.2026-12:<public>,notify.2026-12:<…>,…    # every consumer: the set, by key id

A key id is `<service>.<name>`: the part before the first dot is the one source the key may sign for, so
stats' key, though it is in every consumer's set, cannot pass an event off as housing's. Write access to the
default exchange (which retries and dead-letter copies need) therefore no longer lets a compromised service
speak for another. The signature covers the body's bytes as published and travels in the
`x-event-signature` header (`<kid>:<base64url>`); retry and dead-letter copies keep the headers and the body
byte for byte, so a message replayed from a dead-letter queue verifies again. Keys rotate by key id: add the
new public key to every consumer's set, move the service to the new signing key, drop the old public key
once no message signed with it can still be queued.

Outside production a service without keys uses the development pair of its name, derived from a seed
published here; `ENV=production` refuses those (`shared.platform.secret_settings`: their key ids say `dev-only`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared.platform.config import is_production
from shared.platform.token_keys import (
    KeyFormatError,
    SigningKey,
    parse_public_keys,
    parse_signing_key,
    public_keys_setting,
)

SIGNATURE_HEADER = "x-event-signature"
SIGNING_KEY_SETTING = "EVENT_SIGNING_KEY"
PUBLIC_KEYS_SETTING = "EVENT_PUBLIC_KEYS"
DEV_KEY_NAME = "dev-only"
SOURCE_SHAPE = re.compile(r"[a-z][a-z0-9_]{1,31}")  # as the envelope's `source`


class SignatureRejected(ValueError):
    """Why an event was not accepted as its source's; the message names key ids, never key material."""


def dev_signing_key(service: str) -> SigningKey:
    """The published development key of `service`: anyone can sign with it, so production refuses it."""
    seed = hashlib.sha256(f"newcitizen development event key/{service}".encode()).digest()
    return SigningKey(f"{service}.{DEV_KEY_NAME}", Ed25519PrivateKey.from_private_bytes(seed))


def source_of(kid: str) -> str:
    return kid.partition(".")[0]


class EventSigner:
    def __init__(self, key: SigningKey):
        self.key = key
        self.prefix = f"{key.kid}:"

    @classmethod
    def for_service(cls, service: str, config: dict) -> EventSigner:
        setting = str(config.get(SIGNING_KEY_SETTING) or "").strip()
        if not setting:
            if is_production(config):
                raise RuntimeError(f"{SIGNING_KEY_SETTING} must be set in production")
            return cls(dev_signing_key(service))
        key = parse_signing_key(setting)
        if source_of(key.kid) != service:
            raise KeyFormatError(f"{SIGNING_KEY_SETTING} key id {key.kid!r} is not one of {service}'s")
        return cls(key)

    def sign(self, body: bytes | str) -> str:
        raw = body.encode("utf-8") if isinstance(body, str) else body
        return self.prefix + _encode(self.key.key.sign(raw))


class EventVerifier:
    def __init__(self, keys: dict[str, Ed25519PublicKey], development: bool = False):
        self.keys = dict(keys)
        # outside production without a key set, any source's published development key is accepted, so
        # a test's own sample services and tools need no configuration; production names every key
        self.development = development

    @classmethod
    def from_config(cls, config: dict) -> EventVerifier:
        setting = str(config.get(PUBLIC_KEYS_SETTING) or "").strip()
        if not setting:
            if is_production(config):
                raise RuntimeError(f"{PUBLIC_KEYS_SETTING} must be set in production")
            return cls({}, development=True)
        return cls(parse_public_keys(setting, PUBLIC_KEYS_SETTING))

    def key(self, kid: str) -> Ed25519PublicKey | None:
        if kid not in self.keys and self.development and kid == f"{source_of(kid)}.{DEV_KEY_NAME}":
            self.keys[kid] = dev_signing_key(source_of(kid)).public_key
        return self.keys.get(kid)

    def verify(self, body: bytes | str, headers: dict | None, source: str) -> None:
        """Return when `body` is signed by a key of `source`, or raise SignatureRejected saying why."""
        header = (headers or {}).get(SIGNATURE_HEADER)
        if not isinstance(header, str | bytes) or not header:
            raise SignatureRejected("unsigned: no x-event-signature header")
        kid, _, encoded = (header.decode("ascii", "replace") if isinstance(header, bytes) else header).partition(":")
        key = self.key(kid)
        if key is None:
            raise SignatureRejected(f"signed with key id {kid[:64]!r}, not in EVENT_PUBLIC_KEYS")
        if source_of(kid) != source:
            raise SignatureRejected(f"signed with {kid!r}, a key of {source_of(kid)!r}, not of {source!r}")
        try:
            signature = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            key.verify(signature, body.encode("utf-8") if isinstance(body, str) else body)
        except (binascii.Error, ValueError, InvalidSignature) as exc:
            raise SignatureRejected(f"the signature under {kid!r} does not match the body") from exc


def keygen(service: str, name: str) -> tuple[str, str]:
    """A new key for `service`: (its EVENT_SIGNING_KEY, the entry every consumer adds to EVENT_PUBLIC_KEYS)."""
    if not SOURCE_SHAPE.fullmatch(service):
        raise KeyFormatError("a service name is a lower-case word (the envelope's source)")
    key = SigningKey.generate(f"{service}.{name}")
    return key.setting(), public_keys_setting({key.kid: key.public_key})


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
