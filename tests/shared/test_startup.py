"""A service checks its configuration when it starts: a production start refuses SQLite and every example,
too short or half-set secret, and a missing or impossible setting stops it with a sentence naming the
setting (never a secret's value)."""

import re

import pytest
import yaml
from amqp.exceptions import ChannelError
from kombu import Connection

from services.notify.fake_gateway import parse_args
from services.notify.service import NotifyService
from shared.platform.config import REPO_ROOT, SERVICES, config_path, load_service_config
from shared.platform.event_signing import keygen as event_keygen
from shared.platform.secret_settings import EXAMPLE_VALUES, GROUPS, is_example, secret_problems
from shared.platform.startup import ConfigurationError, problems
from shared.platform.token_keys import DEV_PRIVATE_KEY, DEV_PUBLIC_KEYS, SigningKey
from tests.shared.test_probes import ProbedService
from tests.support.databases import migrate
from tests.support.tokens import PUBLIC_KEYS, SUITE_KEY

NOTIFY_EVENT_KEY, NOTIFY_EVENT_PUBLIC_KEY = event_keygen("notify", "2026-12")
PRODUCTION = {
    "ENV": "production",
    "EVENT_SIGNING_KEY": NOTIFY_EVENT_KEY,
    "EVENT_PUBLIC_KEYS": NOTIFY_EVENT_PUBLIC_KEY,
    "JWT_PUBLIC_KEYS": SigningKey.generate("issuer-2026-07").public_setting(),
    "PII_HMAC_KEY": "b1e2c3d4a5f60718293a4b5c6d7e8f90a1b2c3d4",
    "PII_ENCRYPTION_KEY": "c0ffee11d2e3f4a5b6c7d8e9fa0b1c2d3e4f5a6b",
}


def test_a_production_start_refuses_sqlite(container_factory, service_config, sqlite_url):
    container = container_factory(ProbedService, service_config(sqlite_url, **PRODUCTION))
    with pytest.raises(ConfigurationError, match="DATABASE_URL is SQLite"):
        container.start()


def test_a_production_start_on_postgresql_runs(container_factory, service_config, postgres_url):
    container = container_factory(ProbedService, service_config(postgres_url, **PRODUCTION))
    container.start()
    assert container.started


def test_sqlite_is_fine_outside_production(container_factory, service_config, sqlite_url):
    container = container_factory(ProbedService, service_config(sqlite_url))
    container.start()
    assert container.started


def test_each_problem_is_named():
    found = problems({"AMQP_URI": "", "DATABASE_URL": "x", "EVENT_QUEUE_TYPE": "lazy", "max_workers": 0})
    assert found == [
        "AMQP_URI is not set",
        "WEB_SERVER_ADDRESS is not set",
        "EVENT_QUEUE_TYPE must be one of classic, quorum",
        "max_workers must be a whole number of at least 1",
    ]


# --- secrets (issue 15, finding 13) ---------------------------------------------------------------

NOTIFY_SECRETS = {
    "SMS_PROVIDER": "log",
    "WECHAT_PROVIDER": "log",
    # the private key is the issuer's: no service's config has it
    **dict.fromkeys(key for group in GROUPS for key in group.minimums if key not in {*PRODUCTION, "JWT_PRIVATE_KEY"}),
}


def notify_as_shipped(postgres_url: str, service_config, **settings) -> dict:
    """notify's own config.yaml (its development defaults) with ENV=production, on this test's broker."""
    shipped = load_service_config("notify")
    shipped.pop("LOGGING", None)
    return {**shipped, **service_config(postgres_url, ENV="production"), **settings}


def start_refused(container_factory, config) -> str:
    container = container_factory(NotifyService, config)
    with pytest.raises(ConfigurationError) as refused:
        container.start()
    return str(refused.value)


def assert_nothing_declared(config) -> None:
    """The refused service declared no queue, so it consumed and published nothing."""
    with Connection(config["AMQP_URI"]) as connection:
        with pytest.raises(ChannelError):
            connection.channel().queue_declare("rpc-notify", passive=True)


def test_a_production_notify_on_the_shipped_defaults_is_refused_naming_every_secret(
    container_factory, service_config, postgres_url
):
    config = notify_as_shipped(postgres_url, service_config, JWT_PUBLIC_KEYS="", PII_HMAC_KEY="dev-only-hmac-key")
    config["PII_ENCRYPTION_KEY"] = "dev-only-encryption-key"
    message = start_refused(container_factory, config)
    assert "JWT_PUBLIC_KEYS not set" in message
    assert "EVENT_SIGNING_KEY, EVENT_PUBLIC_KEYS not set (event signing is in use" in message  # empty as shipped
    not_in_notify = ("JWT_PUBLIC_KEYS", "JWT_PRIVATE_KEY", "WECHAT_SECRET", "EVENT_SIGNING_KEY", "EVENT_PUBLIC_KEYS")
    for key in (key for group in GROUPS for key in group.minimums if key not in not_in_notify):
        assert f"{key} is a development or example value" in message, key
    assert not any(value in message for value in EXAMPLE_VALUES)
    assert_nothing_declared(config)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"PII_ENCRYPTION_KEY": ""}, "PII_ENCRYPTION_KEY not set (the personal-data key pair is in use"),
        ({"JWT_PUBLIC_KEYS": "x" * 44}, "JWT_PUBLIC_KEYS is shorter than 45 characters"),
        ({"JWT_PUBLIC_KEYS": f"issuer-2026-07:{'A' * 43},{DEV_PUBLIC_KEYS}"}, "JWT_PUBLIC_KEYS is a development"),
        ({"PII_HMAC_KEY": "replace-with-64-hex-chars"}, "PII_HMAC_KEY is a development or example value"),
        (
            {"SMS_PROVIDER": "aliyun", "ALIYUN_ACCESS_KEY_ID": "LTAI5tQ8xnM2kUyW9ZrB3cDe"},
            "ALIYUN_ACCESS_KEY_SECRET, ALIYUN_CALLBACK_TOKEN not set (Alibaba Cloud SMS is in use",
        ),
        (
            {"TENCENT_SECRET_ID": "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA"},  # set, though tencent is not in use
            "TENCENT_SECRET_KEY, TENCENT_CALLBACK_TOKEN not set (TENCENT_SECRET_ID is: Tencent Cloud SMS needs all",
        ),
        ({"SMS_PROVIDER": "gateway"}, "SMS_GATEWAY_KEY not set (the SMS gateway is in use"),
        ({"WECHAT_PROVIDER": "wechat", "WECHAT_SECRET": "0" * 32}, "WECHAT_CALLBACK_KEY not set (WeChat is in use"),
        ({"DATABASE_URL": "postgresql://notify:replace-me@db/notify"}, "DATABASE_URL has an example password"),
    ],
    ids=[
        "pii-half",
        "short-public-keys",
        "dev-public-key-beside-a-real-one",
        "example-pii",
        "aliyun-half",
        "tencent-half",
        "gateway-keyless",
        "wechat-half",
        "db-password",
    ],  # fmt: skip
)
def test_a_production_notify_with_one_bad_secret_is_refused_by_name(
    container_factory, service_config, postgres_url, settings, expected
):
    config = notify_as_shipped(postgres_url, service_config, **{**PRODUCTION, **NOTIFY_SECRETS, **settings})
    message = start_refused(container_factory, config)
    assert expected in message
    assert not any(str(value) in message for value in settings.values() if len(str(value)) > 8)
    assert_nothing_declared(config)


def test_every_address_of_a_broker_failover_list_is_checked_for_an_example_password():
    real, example = "pyamqp://nc:Kq8vR2mZ7xLw4pT9@node-0:5672/", "pyamqp://nc:replace-me@node-1:5672/"
    assert "AMQP_URI has an example password" in secret_problems({"AMQP_URI": f"{real};{example}"})
    assert "AMQP_URI has an example password" not in secret_problems({"AMQP_URI": f"{real};{real}"})


def test_a_production_notify_with_real_secrets_and_unused_providers_blank_starts(
    container_factory, service_config, postgres_url
):
    migrate("notify", postgres_url)
    config = notify_as_shipped(postgres_url, service_config, **{**PRODUCTION, **NOTIFY_SECRETS})
    container = container_factory(NotifyService, config)
    container.start()
    assert container.started


def shipped_secret_values() -> dict[str, str]:
    """Every secret value this repository ships: config.yaml defaults, the fake gateway's defaults, the deploy
    examples, the values the test suites use; keyed by where each was found."""
    secret_keys = {key for group in GROUPS for key in group.minimums}
    found = {}
    for service in SERVICES:
        for key, default in re.findall(r"^(\w+): \$\{\w+:(.*)\}$", config_path(service).read_text(), re.M):
            if key in secret_keys and default:
                found[f"{service}/config.yaml {key}"] = default
    gateway = vars(parse_args(["--callback", "http://127.0.0.1:1"]))
    for option in ("api_key", "wechat_callback_key", "aliyun_key_id", "aliyun_key_secret", "aliyun_callback_token",
                   "tencent_secret_id", "tencent_secret_key", "tencent_callback_token"):  # fmt: skip
        found[f"fake gateway --{option}"] = gateway[option]
    env_example = (REPO_ROOT / "deploy" / ".env.example").read_text()
    for key, value in re.findall(r"^(\w*(?:SECRET|KEY|PASSWORD|TOKEN)\w*)=(.+)$", env_example, re.M):
        found[f".env.example {key}"] = value
    for document in yaml.safe_load_all((REPO_ROOT / "deploy" / "k8s" / "secrets.example.yaml").read_text()):
        for key, value in document["stringData"].items():
            if key != "username" and value:
                found[f"secrets.example.yaml {document['metadata']['name']} {key}"] = value
    found["shared.platform.token_keys DEV_PRIVATE_KEY"] = DEV_PRIVATE_KEY
    found["shared.platform.token_keys DEV_PUBLIC_KEYS"] = DEV_PUBLIC_KEYS
    found["tests service_config JWT_PUBLIC_KEYS"] = PUBLIC_KEYS
    found["tests issuer JWT_PRIVATE_KEY"] = SUITE_KEY.setting()
    return found


def test_every_secret_value_the_repository_ships_is_refused_in_production():
    shipped = shipped_secret_values()
    assert len(shipped) > 30  # the scan found the files
    assert [where for where, value in shipped.items() if not is_example(value)] == []
