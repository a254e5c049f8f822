"""The core flow with every process on its own broker user (shared/platform/broker_access.py), as deployed: the
topology step, each service and the ops client connect with their own throw-away credentials, and an
approval still gives one SMS record in notify and one count in stats."""

import json
import os

import pytest

from ops.launcher import service_pid
from ops.sandbox import SharedBroker
from shared.platform.broker_access import username
from shared.platform.config import SERVICES
from tests.e2e.test_core_flow import rpc, test_approval_gives_one_sms_with_final_status_and_one_count
from tests.ops.test_backup import databases
from tests.ops.test_cli_e2e import newcitizen
from tests.support.platform import running_platform
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

__all__ = ["rpc", "test_approval_gives_one_sms_with_final_status_and_one_count"]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def platform(request, tmp_path_factory):
    where = tmp_path_factory.mktemp("identities")
    with databases(request.param, where, "identities") as urls:
        with running_platform(where, database_urls=urls, own_broker_users=True) as running:
            yield running


def test_each_service_connects_as_its_own_user(platform):
    vhost = platform.amqp_uri.rsplit("/", 1)[1]
    own = {username(service) + f"-{vhost}" for service in SERVICES}

    def connected() -> set[str]:  # the management API lists a connection a few seconds after it opened
        return {c["user"] for c in SharedBroker().client.get_connections() if c.get("vhost") == vhost}

    assert wait_for(lambda: own <= connected()), connected()
    assert "guest" not in connected()
    assert all(service_pid(service, platform.run_dir) for service in SERVICES)
    assert "ACCESS_REFUSED" not in platform.logs()


def test_the_cli_works_as_the_ops_user(platform):
    """`newcitizen` with the ops user's URI (as the ops pod has it): health over RPC, and the DLQs read."""
    env = {**os.environ, **platform.env, **platform.issuer_env, "AMQP_URI": "pyamqp://nobody:wrong@127.0.0.1//"}
    health = newcitizen(env, "health")
    assert health.returncode == 0, health.stdout + health.stderr
    assert all(" ok " in line for line in health.stdout.splitlines() if any(f" {s} " in line for s in SERVICES))
    letters = newcitizen(env, "dlq", "list", "--json")
    assert letters.returncode == 0 and json.loads(letters.stdout) == [], letters.stderr
