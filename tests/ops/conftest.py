"""The ops CLI reads the services' config files with the environment applied, as the services do: these
fixtures point that environment at the test's vhost, free HTTP ports and throw-away SQLite files."""

import pytest
from nameko.testing.utils import find_free_port

from shared.platform.config import SERVICES
from tests.support.tokens import PUBLIC_KEYS, SUITE_KEY

# the CLI is an issuer: it holds the suite's private key; the services it talks to hold the public keys
TOKEN_ENV = {"JWT_PRIVATE_KEY": SUITE_KEY.setting(), "JWT_PUBLIC_KEYS": PUBLIC_KEYS}


@pytest.fixture
def platform_env(monkeypatch, tmp_path, rabbit_config):
    """Environment for `newcitizen`: returns {service: {"http": "127.0.0.1:port", "db": url}}."""
    monkeypatch.setenv("AMQP_URI", rabbit_config["AMQP_URI"])
    for key, value in TOKEN_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("STAFF_REGISTRY", str(tmp_path / "staff.json"))
    monkeypatch.setenv("JWT_REVOCATION_LIST", str(tmp_path / "revoked-tokens"))
    monkeypatch.setenv("ENV", "test")
    layout = {}
    for service in SERVICES:
        address = f"127.0.0.1:{find_free_port()}"
        url = f"sqlite:///{tmp_path / service}.db"
        monkeypatch.setenv(f"{service.upper()}_HTTP_ADDRESS", address)
        monkeypatch.setenv(f"{service.upper()}_DATABASE_URL", url)
        layout[service] = {"http": address, "db": url}
    return layout


@pytest.fixture
def cli(capsys):
    """Run `newcitizen ARGS...` in-process; returns (exit code, stdout, stderr)."""
    from ops.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
