"""`python -m ops.broker_users local`, the opt-in local set-up: users on the local broker and the file of
AMQP URIs `make start` reads; run against a throw-away vhost with throw-away user names, removed after."""

import os
import stat
import uuid

import pytest
from amqp.exceptions import AccessRefused
from kombu import Connection

from ops import broker_users
from ops.sandbox import RABBIT_API, SharedBroker
from shared.platform.broker_access import IDENTITIES, amqp_uri_variable, username


@pytest.fixture
def vhost():
    broker = SharedBroker()
    name = f"nc_users_{uuid.uuid4().hex[:10]}"
    broker.create_vhost(name)
    yield name
    broker_users.main(["remove", "--api", RABBIT_API, f"--suffix=-{name}"])
    broker.delete_vhost(name)


def test_local_creates_every_user_and_writes_their_uris_for_the_launcher(vhost, tmp_path):
    env_file = tmp_path / "broker-users.env"
    argv = ["local", "--api", RABBIT_API, "--vhost", vhost, "--env-file", str(env_file), f"--suffix=-{vhost}"]
    assert broker_users.main(argv) == 0
    assert stat.S_IMODE(os.stat(env_file).st_mode) == 0o600  # passwords in it: the owner's alone
    uris = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    assert set(uris) == {amqp_uri_variable(identity) for identity in IDENTITIES}
    for identity in IDENTITIES:
        with Connection(uris[amqp_uri_variable(identity)]) as connection:
            connection.connect()  # its password works on the vhost
    with Connection(uris[amqp_uri_variable("stats")]) as connection, pytest.raises(AccessRefused):
        connection.channel().exchange_declare("housing.events-not-stats", "topic")

    assert broker_users.main(argv) == 0  # again: new passwords, the old ones no longer work
    rotated = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    assert rotated != uris
    with Connection(uris[amqp_uri_variable("ops")], connect_timeout=5) as connection, pytest.raises(AccessRefused):
        connection.connect()


def test_remove_deletes_the_users(vhost, tmp_path):
    argv = ["local", "--api", RABBIT_API, "--vhost", vhost, "--env-file", str(tmp_path / "env"), f"--suffix=-{vhost}"]
    broker_users.main(argv)
    broker_users.main(["remove", "--api", RABBIT_API, f"--suffix=-{vhost}"])
    present = {user["name"] for user in SharedBroker().client._get("users")}
    assert not {username(identity) + f"-{vhost}" for identity in IDENTITIES} & present


def test_the_cli_connects_as_ops_when_given_its_own_uri(monkeypatch):
    from ops.settings import Settings

    monkeypatch.delenv(amqp_uri_variable("ops"), raising=False)
    assert Settings().amqp_uri == Settings().base["AMQP_URI"]  # the services' AMQP_URI (guest, locally)
    monkeypatch.setenv(amqp_uri_variable("ops"), "pyamqp://newcitizen-ops:pw@127.0.0.1:5672/")
    assert Settings().amqp_uri == "pyamqp://newcitizen-ops:pw@127.0.0.1:5672/"
    assert Settings().rpc_config() == {"AMQP_URI": "pyamqp://newcitizen-ops:pw@127.0.0.1:5672/"}
