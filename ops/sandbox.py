"""A throw-away platform: all five services as processes, started the way `make start` does, but isolated
in their own RabbitMQ vhost, their own SQLite files (or PostgreSQL databases) and their own HTTP ports.
The end-to-end tests, the fault suite and the benchmarks each run one."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from nameko.testing.rabbit import Client
from nameko.testing.utils import find_free_port

from ops import broker_users
from ops.launcher import signal_service, start_platform, start_service, stop_platform, stop_service, wait_healthy
from shared.platform.broker_access import OPS, own_amqp_uri
from shared.platform.config import REPO_ROOT, SERVICES
from shared.platform.token_issuer import Issuer
from shared.platform.token_keys import SigningKey

RABBIT_API = os.environ.get("TEST_RABBIT_API", "http://guest:guest@localhost:15672")


@dataclass
class RunningPlatform:
    amqp_uri: str
    env: dict
    run_dir: Path
    ports: dict = field(default_factory=dict)
    issuer: Issuer = field(default_factory=lambda: Issuer(SigningKey.generate("dev-only-sandbox")))

    @property
    def issuer_env(self) -> dict:
        """What a process issuing tokens for this platform adds to `env` (the services never get it)."""
        return {"JWT_PRIVATE_KEY": self.issuer.key.setting()}

    def base_url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def token(self, sub: str, *roles: str) -> str:
        return self.issuer.issue(sub, roles)

    def rpc_config(self) -> dict:
        """As the ops CLI connects: with the ops broker user when the platform has its own users."""
        return {"AMQP_URI": own_amqp_uri(OPS, self.env, self.amqp_uri)}

    def kill(self, service: str, sig: int = 9) -> bool:
        return signal_service(service, sig, self.run_dir)

    def restart(self, service: str) -> None:
        stop_service(service, self.run_dir)
        start_service(service, self.env, self.run_dir)
        waiting = wait_healthy([service], self.env, run_dir=self.run_dir)
        if waiting:
            raise RuntimeError(f"{service} did not come back; see {self.run_dir / 'log' / service}.log")

    def start_replicas(self, services, run_dir: Path) -> None:
        """One more process of each of `services` under `run_dir`, on this platform's broker and databases,
        each with an HTTP port of its own; `stop_platform(run_dir)` stops them."""
        for service in services:
            env = {**self.env, f"{service.upper()}_HTTP_ADDRESS": f"127.0.0.1:{find_free_port()}"}
            start_service(service, env, run_dir)
            if wait_healthy([service], env, run_dir=run_dir):
                raise RuntimeError(f"another {service} did not become ready; see {run_dir / 'log' / service}.log")

    def logs(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in sorted((self.run_dir / "log").glob("*.log")))


class SharedBroker:
    """The machine's RabbitMQ, through its management API. A sandbox gets a vhost of its own on it."""

    amqp_base = "pyamqp://guest:guest@127.0.0.1:5672"

    def __init__(self, api: str = RABBIT_API):
        self.client = Client(api)
        self.management = broker_users.ManagementApi(api)

    def create_vhost(self, vhost: str) -> None:
        self.client.create_vhost(vhost)
        self.client.set_vhost_permissions(vhost, "guest", ".*", ".*", ".*")

    def delete_vhost(self, vhost: str) -> None:
        self.client.delete_vhost(vhost)

    def create_users(self, vhost: str) -> dict:
        """Throw-away users of every broker identity on `vhost` (named after it, so runs never share one);
        returns the environment that gives each process its own: `<IDENTITY>_AMQP_URI`."""
        passwords = broker_users.new_passwords()
        names = broker_users.apply(self.management, vhost, passwords, suffix=f"-{vhost}")
        host, port = urlsplit(self.amqp_base).hostname, urlsplit(self.amqp_base).port
        return broker_users.amqp_uris(host, port, vhost, names, passwords)

    def delete_users(self, vhost: str) -> None:
        broker_users.remove(self.management, suffix=f"-{vhost}")

    def uri(self, vhost: str) -> str:
        return f"{self.amqp_base}/{vhost}"


@contextmanager
def running_platform(
    tmp_dir: Path,
    database_urls: dict | None = None,
    extra_env: dict | None = None,
    broker=None,
    own_broker_users: bool = False,
):
    """`broker` is anything with `uri(vhost)`, `create_vhost` and `delete_vhost` (the shared one by default;
    the fault suite passes a private node it may restart, the cluster suite a cluster: `uri` is then the
    failover list of its nodes). `own_broker_users` (the shared broker only): each service, ops and the
    topology step connect as their own throw-away user with the permissions of `shared/platform/broker_access.py`,
    as in production; otherwise every process is guest."""
    broker = broker or SharedBroker()
    vhost = f"nc_e2e_{uuid.uuid4().hex[:10]}"
    broker.create_vhost(vhost)
    amqp_uri = broker.uri(vhost)
    try:
        users_env = broker.create_users(vhost) if own_broker_users else {}
    except Exception:
        if own_broker_users:
            broker.delete_users(vhost)  # the ones created before the failure
        broker.delete_vhost(vhost)
        raise
    issuer = Issuer(SigningKey.generate("dev-only-sandbox"))  # the sandbox's own; its services get the public key
    env = {
        "AMQP_URI": amqp_uri,
        "JWT_PUBLIC_KEYS": issuer.key.public_setting(),
        "JWT_REVOCATION_LIST": str(tmp_dir / "revoked-tokens"),
        "STAFF_REGISTRY": str(tmp_dir / "staff.json"),
        "ENV": "test",
        "OUTBOX_SWEEP_SECONDS": "1",
        "EVENT_RETRY_DELAYS_MS": "[200, 500, 1000]",
        **users_env,
    }
    ports = {}
    for service in SERVICES:
        ports[service] = find_free_port()
        prefix = service.upper()
        env[f"{prefix}_HTTP_ADDRESS"] = f"127.0.0.1:{ports[service]}"
        env[f"{prefix}_DATABASE_URL"] = (database_urls or {}).get(service) or f"sqlite:///{tmp_dir / service}.db"
    env.update(extra_env or {})
    try:
        yield from _started(tmp_dir, env, amqp_uri, ports, issuer)
    finally:
        if own_broker_users:
            broker.delete_users(vhost)
        broker.delete_vhost(vhost)


def _started(tmp_dir: Path, env: dict, amqp_uri: str, ports: dict, issuer: Issuer):
    subprocess.run(
        [sys.executable, "-m", "shared.platform.migrations"],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [sys.executable, "-m", "shared.platform.topology"],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    platform = RunningPlatform(amqp_uri=amqp_uri, env=env, run_dir=tmp_dir, ports=ports, issuer=issuer)
    try:
        start_platform(env, run_dir=tmp_dir)
        yield platform
    finally:
        stop_platform(tmp_dir)
