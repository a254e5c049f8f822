"""`self.pii` in a service: pseudonyms, blind indexes and field encryption with the configured keys."""

from __future__ import annotations

from nameko.extensions import DependencyProvider

from shared.platform.personal_data import (
    DEV_KEYS,
    FieldCipher,
    PiiKeys,
    blind_index,
    normalise_id_number,
    resident_id,
    resident_id_from_birth_certificate,
)
from shared.platform.secret_settings import refuse_example_secrets


def keys_from_config(config: dict) -> PiiKeys:
    refuse_example_secrets(config)
    hmac_key, encryption_key = config.get("PII_HMAC_KEY"), config.get("PII_ENCRYPTION_KEY")
    production = str(config.get("ENV", "development")).lower() == "production"
    if not hmac_key or not encryption_key:
        if production:
            raise RuntimeError("PII_HMAC_KEY and PII_ENCRYPTION_KEY must be set in production")
        return DEV_KEYS
    keys = PiiKeys.from_config(str(hmac_key), str(encryption_key))
    if production and keys == DEV_KEYS:
        raise RuntimeError("the dev PII keys are refused in production")
    return keys


class PiiTools:
    def __init__(self, keys: PiiKeys):
        self.keys = keys
        self.cipher = FieldCipher(keys)

    def resident_id(self, id_number: str) -> str:
        return resident_id(normalise_id_number(id_number), self.keys)

    def resident_id_from_birth_certificate(self, number: str) -> str:
        return resident_id_from_birth_certificate(number, self.keys)

    def index(self, value: str, purpose: str) -> str:
        return blind_index(value, self.keys, purpose)

    def encrypt(self, plaintext: str, bound_to: str | None = None) -> str:
        return self.cipher.encrypt(plaintext, bound_to)

    def decrypt(self, token: str, bound_to: str | None = None) -> str:
        return self.cipher.decrypt(token, bound_to)


class Pii(DependencyProvider):
    def setup(self):
        self.tools = PiiTools(keys_from_config(self.container.config))

    def get_dependency(self, worker_ctx) -> PiiTools:
        return self.tools
