"""The one-host install: the image's Dockerfile, docker-compose.yml and the PostgreSQL init script,
checked by parsing and cross-checking against the services' configs (no Docker engine here to build),
and the init script run for real against the local PostgreSQL."""

import os
import re
import shutil
import subprocess
import uuid
from urllib.parse import urlparse

import pytest
import yaml
from sqlalchemy import create_engine, text

from shared.platform.config import SERVICES, config_path
from tests.conftest import POSTGRES_ADMIN_URL, postgres_reachable
from tests.deploy.conftest import DEPLOY, config_variables, platform_variables, secret_variables

SECRETS = ("JWT_PUBLIC_KEYS", "PII_HMAC_KEY", "PII_ENCRYPTION_KEY")


def test_dockerfile_pins_its_base_runs_unprivileged_and_checks_health():
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    base = re.search(r"^ARG BASE_IMAGE=(\S+)$", dockerfile, re.M).group(1)
    assert re.fullmatch(r"debian:12\.\d+-slim|debian@sha256:[0-9a-f]{64}", base)  # Debian's Python 3.11
    # one stage on the base (python3, tini), which both the build and the final image start from
    assert re.findall(r"^FROM (.+)$", dockerfile, re.M) == ["${BASE_IMAGE} AS runtime", "runtime AS build", "runtime"]
    assert re.search(r"pip install --require-hashes -r /tmp/requirements.lock$", dockerfile, re.M)
    assert re.search(r'^ENTRYPOINT \["/usr/bin/tini", "--", "docker-entrypoint.sh"\]$', dockerfile, re.M)
    assert re.search(r"^USER 10001:10001$", dockerfile, re.M)
    healthcheck = dockerfile[dockerfile.index("HEALTHCHECK") :]
    assert "/readyz" in healthcheck.split("ENTRYPOINT")[0]
    for secret in (*SECRETS, "SMS_GATEWAY_KEY", "PASSWORD"):
        assert not re.search(rf"{secret}\S*=", dockerfile), f"{secret} must not be baked into the image"
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    assert ignore[1:3] == ["*", "!requirements.lock"] and "!deploy/.env" not in ignore


def test_entrypoint_knows_every_service_and_the_migrations():
    script = (DEPLOY / "docker-entrypoint.sh").read_text(encoding="utf-8")
    assert "|".join(SERVICES) in script
    assert 'nameko run --config "services/$1/config.yaml" "services.$1.service"' in script
    assert "python -m shared.platform.migrations" in script and "python -m shared.platform.topology" in script


def test_compose_runs_every_service_with_its_own_database(compose):
    services = compose["services"]
    for name in SERVICES:
        service = services[name]
        assert service["command"] == [name]
        env = service["environment"]
        url = env[f"{name.upper()}_DATABASE_URL"]
        assert re.fullmatch(rf"postgresql://{name}:\$\{{SERVICE_DB_PASSWORD[^}}]*\}}@postgres:5432/{name}", url), url
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}
        assert "/readyz" in " ".join(service["healthcheck"]["test"])
        # every variable the service's config reads for a production run is provided
        needed = {f"{name.upper()}_DATABASE_URL", "AMQP_URI", "ENV", *SECRETS, "EVENT_QUEUE_TYPE"}
        assert needed <= config_variables(name) | {"AMQP_URI"}
        assert needed <= set(env), needed - set(env)
        assert env["ENV"] == "production"
        assert secret_variables(name) <= set(env), "a development default would be refused in production"
        assert env["LOG_FORMAT"] == "${LOG_FORMAT:-json}"
    assert services["migrate"]["command"] == ["migrate"]
    databases = services["postgres"]["environment"]["NEWCITIZEN_DATABASES"].split()
    assert databases == list(SERVICES)


def test_compose_host_ports_match_the_services_default_addresses(compose):
    # the ops CLI on the host reads the config defaults (0.0.0.0:800N): compose publishes the same ports
    for name in SERVICES:
        default = re.search(r"HTTP_ADDRESS:0\.0\.0\.0:(\d+)\}", config_path(name).read_text()).group(1)
        assert compose["services"][name]["ports"] == [f"127.0.0.1:{default}:8000"]


def test_secrets_come_from_the_environment_and_are_documented(compose):
    text = (DEPLOY / "docker-compose.yml").read_text(encoding="utf-8")
    required = set(re.findall(r"\$\{([A-Z_]+):\?", text))
    assert {*SECRETS, "RABBITMQ_PASSWORD", "POSTGRES_PASSWORD", "SERVICE_DB_PASSWORD"} <= required
    example = dict(
        line.split("=", 1) for line in (DEPLOY / ".env.example").read_text().splitlines() if "=" in line[:40]
    )
    assert required <= set(example)
    env = compose["services"]["housing"]["environment"]
    for secret in SECRETS:
        assert re.fullmatch(rf"\$\{{{secret}:\?[^}}]+\}}", env[secret]), f"{secret} must come from the environment"


def test_only_the_ops_container_holds_the_token_private_key_and_staff_registry(compose):
    services = compose["services"]
    holders = {name for name, service in services.items() if "JWT_PRIVATE_KEY" in service.get("environment", {})}
    assert holders == {"ops"}
    ops = compose["services"]["ops"]
    assert "staff-registry:/var/lib/newcitizen/staff" in ops["volumes"]
    assert ops["environment"]["STAFF_REGISTRY"].startswith("/var/lib/newcitizen/staff/")
    for name in SERVICES:
        assert "./revoked:/etc/newcitizen/revoked:ro" in compose["services"][name]["volumes"]
        assert compose["services"][name]["environment"]["JWT_REVOCATION_LIST"] == "/etc/newcitizen/revoked/tokens"


def test_fake_gateway_is_an_optional_profile_on_notify_s_loopback_signing_with_notify_s_key(compose):
    from services.notify.fake_gateway import parse_args

    fake = compose["services"]["fake-sms"]
    assert fake["profiles"] == ["fake-sms"]
    assert fake["network_mode"] == "service:notify" and "ports" not in fake
    assert "profiles" not in compose["services"]["notify"]
    command = fake["command"]
    assert command[:3] == ["python", "-m", "services.notify.fake_gateway"]
    args = parse_args(command[3:])  # the gateway's own argument parser accepts the command
    notify_env = compose["services"]["notify"]["environment"]
    assert notify_env["NOTIFY_SMS_GATEWAY_URL"].endswith(f"127.0.0.1:{args.port}}}")
    assert args.api_key.startswith("${SMS_GATEWAY_KEY") and notify_env["NOTIFY_SMS_GATEWAY_KEY"].startswith(
        "${SMS_GATEWAY_KEY"
    )
    assert args.callback == "http://127.0.0.1:8000"


def test_every_variable_given_to_a_service_is_one_the_configurations_read(compose):
    """A misspelt or unprefixed name (SMS_PROVIDER for NOTIFY_SMS_PROVIDER) would be ignored in silence."""
    read = platform_variables()
    for name in SERVICES:
        given = set(compose["services"][name]["environment"])
        assert given <= read, f"{name} is given variables no config.yaml reads: {sorted(given - read)}"


def test_monitoring_is_provisioned_from_files_that_exist(compose):
    for name in ("prometheus", "grafana", "rabbitmq", "postgres"):
        for volume in compose["services"][name].get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (DEPLOY / source).exists(), f"{name}: {source} is missing"
    assert "rabbitmq_prometheus" in (DEPLOY / "rabbitmq" / "enabled_plugins").read_text()
    assert re.fullmatch(r"\S+:\d+\.\d+\.\d+(-\w+)?", compose["services"]["rabbitmq"]["image"])
    assert re.fullmatch(r"\S+:v?\d+\.\d+\.\d+(-\w+)?", compose["services"]["prometheus"]["image"])


@pytest.mark.postgres
@pytest.mark.skipif(shutil.which("psql") is None, reason="psql not installed")
def test_init_script_gives_each_service_a_database_only_it_can_enter():
    if not postgres_reachable():
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}")
    prefix = f"nc_init_{uuid.uuid4().hex[:8]}"
    names = [f"{prefix}_a", f"{prefix}_b"]
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    env = {
        **os.environ,
        "POSTGRES_USER": "postgres",
        "PGHOST": urlparse(POSTGRES_ADMIN_URL).hostname,
        "PGPORT": str(urlparse(POSTGRES_ADMIN_URL).port or 5432),
        "SERVICE_DB_PASSWORD": "pw-for-test",
        "NEWCITIZEN_DATABASES": " ".join(names),
    }
    try:
        run = subprocess.run(
            ["bash", str(DEPLOY / "postgres" / "init-databases.sh")], env=env, capture_output=True, text=True
        )
        assert run.returncode == 0, run.stderr
        with admin.connect() as connection:
            owners = dict(
                connection.execute(
                    text("SELECT datname, pg_get_userbyid(datdba) FROM pg_database WHERE datname LIKE :p ORDER BY 1"),
                    {"p": f"{prefix}%"},
                ).all()
            )
            assert owners == {name: name for name in names}
            allowed = connection.execute(
                text("SELECT has_database_privilege(:role, :db, 'CONNECT')"), {"role": names[0], "db": names[0]}
            ).scalar()
            denied = connection.execute(
                text("SELECT has_database_privilege(:role, :db, 'CONNECT')"), {"role": names[0], "db": names[1]}
            ).scalar()
        assert allowed is True and denied is False
    finally:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                connection.execute(text(f'DROP ROLE IF EXISTS "{name}"'))
        admin.dispose()


def test_every_container_connects_to_the_broker_as_its_own_user_never_the_administrator(compose):
    from ops.broker_users import password_variable
    from shared.platform.broker_access import IDENTITIES, OPS, TOPOLOGY, username

    services = compose["services"]
    containers = {**{name: name for name in SERVICES}, OPS: "ops", TOPOLOGY: "migrate"}
    for identity, container in containers.items():
        uri = services[container]["environment"]["AMQP_URI"]
        assert uri == f"pyamqp://{username(identity)}:${{{password_variable(identity)}}}@rabbitmq:5672/", container
    for name, service in services.items():
        text = yaml.safe_dump(service.get("environment", {}))
        if name not in ("rabbitmq", "broker-users"):
            assert "RABBITMQ_PASSWORD" not in text, f"{name} holds the broker administrator's password"
    users = services["broker-users"]
    assert users["command"] == ["python", "-m", "ops.broker_users", "apply"]
    assert {password_variable(identity) for identity in IDENTITIES} <= set(users["environment"])
    for container in containers.values():
        assert services[container]["depends_on"]["broker-users"] == {"condition": "service_completed_successfully"}
