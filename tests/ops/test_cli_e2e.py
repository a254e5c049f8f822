"""The `newcitizen` console script against the five services started as processes, the way `make start`
starts them (ops.launcher), each on its own SQLite database, in this test's own vhost."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from nameko.testing.utils import find_free_port

from ops.launcher import start_platform, stop_platform
from shared.platform.config import SERVICES
from shared.platform.migrations import upgrade
from tests.ops.conftest import TOKEN_ENV

pytestmark = pytest.mark.e2e

NEWCITIZEN = str(Path(sys.executable).parent / "newcitizen")


@pytest.fixture
def platform(rabbit_config, tmp_path):
    env = {"AMQP_URI": rabbit_config["AMQP_URI"], **TOKEN_ENV, "ENV": "test", "OUTBOX_SWEEP_SECONDS": "1"}
    env |= {"STAFF_REGISTRY": str(tmp_path / "staff.json"), "JWT_REVOCATION_LIST": str(tmp_path / "revoked")}
    for service in SERVICES:
        url = f"sqlite:///{tmp_path / service}.db"
        upgrade(service, url)
        env[f"{service.upper()}_DATABASE_URL"] = url
        env[f"{service.upper()}_HTTP_ADDRESS"] = f"127.0.0.1:{find_free_port()}"
    start_platform(env, run_dir=tmp_path)
    yield {**os.environ, **env}
    stop_platform(tmp_path)


def newcitizen(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([NEWCITIZEN, *args], env=env, capture_output=True, text=True, timeout=120)


def test_console_script_drives_the_running_platform(platform):
    health = newcitizen(platform, "health")
    assert health.returncode == 0, health.stdout + health.stderr
    for service in SERVICES:
        row = next(line for line in health.stdout.splitlines() if f" {service} " in line)
        assert row.count(" ok ") == 2, row  # HTTP and RPC

    outbox = newcitizen(platform, "outbox", "status")
    assert outbox.returncode == 0, outbox.stdout + outbox.stderr
    for service in SERVICES:
        row = next(line for line in outbox.stdout.splitlines() if f" {service} " in line)
        assert [cell.strip() for cell in row.split("│")[1:3]] == [service, "0"]

    letters = newcitizen(platform, "dlq", "list", "--json")
    assert letters.returncode == 0 and json.loads(letters.stdout) == []  # the services declared their DLQs

    token = newcitizen(platform, "token", "--roles", "reviewer")
    assert token.returncode == 0 and token.stdout.count(".") == 2 and token.stderr == ""
