"""What a production start checks of its secrets: none may be a value published in this repository (a
config.yaml default, the fake gateway's, an example file's placeholder), none may be shorter than its
minimum, and each group of settings that work together is set completely or not at all.

The example values are public, so a service running on one is as open as one running on none. A group set
in part (the PII HMAC key without the encryption key, an Alibaba key id without its secret) is refused
because the service would start, and fail or fall back only at the first call that needs the missing half.
Problems name settings, never values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from shared.platform.config import ConfigurationError, is_production

# every development default and placeholder this repository ships (tests/shared/test_startup.py finds them
# in the config files, the fake gateway and the deploy examples, and fails when one is not refused)
EXAMPLE_VALUES = frozenset(
    {
        "dev-only:kRBolkSn8zS13_7jZ0Es_PEfU8Q3SukdFoUwHRugHI8",  # shared.platform.token_keys DEV_PRIVATE_KEY
        "dev-only:GPy9XOfGTuRocIHG0M0zKBkmK3vdjTiwTQmo9VDNcz8",  # and DEV_PUBLIC_KEYS
        "dev-only-hmac-key",
        "dev-only-encryption-key",
        "dev-gateway-key",
        "dev-wechat-callback-key",
        "dev-aliyun-key-id",
        "dev-aliyun-key-secret",
        "dev-aliyun-callback",
        "dev-tencent-secret-id",
        "dev-tencent-secret-key",
        "dev-tencent-callback",
        "replace-me",
        "replace-with-64-hex-chars",
        "the provider key",
        "test-secret-for-the-suite-0123456789",
        "fault-suite-gateway-key",
    }
)
# words no generated secret contains; a value built around one is an example someone filled in by hand
PLACEHOLDER_MARKERS = ("dev-only", "replace", "change-me", "changeme", "example", "placeholder", "secret-here")


@dataclass(frozen=True)
class Group:
    """Settings that are useless apart. `in_use` says whether the configuration needs them at all."""

    name: str
    minimums: dict[str, int]  # setting: shortest value accepted
    in_use: Callable[[dict], bool]


def _names(config: dict, key: str, default: str) -> set[str]:
    return {name.strip() for name in str(config.get(key) or default).split(",") if name.strip()}


def _sms(provider: str) -> Callable[[dict], bool]:
    return lambda config: provider in _names(config, "SMS_PROVIDER", "log")


def _always(config: dict) -> bool:
    return True


# minimums: ours are generated (`openssl rand -hex 32`, `python -m shared.platform.auth keygen`); the vendors' are the
# length of what they issue (Alibaba AccessKey id 24 and secret 30 characters, Tencent SecretId 36 and SecretKey 32)
GROUPS = (
    # a key setting is `KID:BASE64URL` of 32 bytes: at least 45 characters (shared.platform.token_keys); the private
    # key is only in the issuer's configuration, so a service's config has no such key to check
    Group("token verification", {"JWT_PUBLIC_KEYS": 45}, _always),
    Group("token signing", {"JWT_PRIVATE_KEY": 45}, _always),
    Group("event signing", {"EVENT_SIGNING_KEY": 45, "EVENT_PUBLIC_KEYS": 45}, _always),
    Group("the personal-data key pair", {"PII_HMAC_KEY": 32, "PII_ENCRYPTION_KEY": 32}, _always),
    Group("the SMS gateway", {"SMS_GATEWAY_KEY": 16}, _sms("gateway")),
    Group(
        "Alibaba Cloud SMS",
        {"ALIYUN_ACCESS_KEY_ID": 16, "ALIYUN_ACCESS_KEY_SECRET": 24, "ALIYUN_CALLBACK_TOKEN": 32},
        _sms("aliyun"),
    ),
    Group(
        "Tencent Cloud SMS",
        {"TENCENT_SECRET_ID": 16, "TENCENT_SECRET_KEY": 24, "TENCENT_CALLBACK_TOKEN": 32},
        _sms("tencent"),
    ),
    Group(
        "WeChat",
        {"WECHAT_SECRET": 16, "WECHAT_CALLBACK_KEY": 32},
        lambda config: "wechat" in _names(config, "WECHAT_PROVIDER", "log"),
    ),
)
URL_SETTINGS = ("AMQP_URI", "DATABASE_URL")


def is_example(value: str) -> bool:
    lowered = value.strip().lower()
    return lowered in EXAMPLE_VALUES or any(marker in lowered for marker in PLACEHOLDER_MARKERS)


def secret_problems(config: dict) -> list[str]:
    """Every secret setting a production service must not run with, by name."""
    found = []
    for group in GROUPS:
        present = {key: str(config.get(key) or "").strip() for key in group.minimums if key in config}
        if not present:  # this service (or tool) has no such settings
            continue
        missing = [key for key, value in present.items() if not value]
        given = [key for key, value in present.items() if value]
        if missing and group.in_use(config):
            found.append(f"{', '.join(missing)} not set ({group.name} is in use and needs {_all(present)})")
        elif missing and given:
            found.append(f"{', '.join(missing)} not set ({', '.join(given)} is: {group.name} needs all or none)")
        for key in given:
            found.extend(_value_problems(key, present[key], group.minimums[key]))
    for key in URL_SETTINGS:  # AMQP_URI may be kombu's failover list: every address is looked at
        passwords = [_password(address) for address in str(config.get(key) or "").split(";")]
        if any(password and is_example(password) for password in passwords):
            found.append(f"{key} has an example password")
    return found


def _all(settings) -> str:
    names = list(settings)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _value_problems(key: str, value: str, minimum: int) -> list[str]:
    if is_example(value):
        return [f"{key} is a development or example value"]
    if len(value) < minimum:
        return [f"{key} is shorter than {minimum} characters"]
    return []


def _password(url) -> str | None:
    try:
        return urlsplit(str(url or "")).password
    except ValueError:
        return None


def refuse_example_secrets(config: dict) -> None:
    """For the providers that read a secret at start-up: in production, the same one error naming every bad
    secret as the start-up check (whichever of them nameko happens to set up first)."""
    found = secret_problems(config) if is_production(config) else []
    if found:
        raise ConfigurationError("refusing to start: " + "; ".join(found))
