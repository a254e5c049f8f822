"""A RabbitMQ node of the test's own, for faults that hit the broker itself (`stop_app`, closing every
connection). The machine's shared broker serves other people's tests; a fault aimed at it would break
theirs. This node has its own name, ports, data, logs and Erlang cookie under a temporary directory, no
plugins, and is stopped afterwards. `rabbitmqctl -n <node>` controls it and nothing else.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from nameko.testing.utils import find_free_port

START_TIMEOUT_SECONDS = 90


class PrivateRabbitUnavailable(Exception):
    """No RabbitMQ installation here, or the node did not start: the caller skips, visibly."""


def _script(name: str) -> str | None:
    # Debian's /usr/sbin scripts re-exec as the rabbitmq user and drop a temporary HOME; the real ones are here
    packaged = Path("/usr/lib/rabbitmq/bin") / name
    return str(packaged) if packaged.exists() else shutil.which(name)


class PrivateRabbit:
    def __init__(self, base: Path):
        self.base = base
        self.node = f"nc-faults-{uuid.uuid4().hex[:6]}@localhost"
        self.port = find_free_port()
        self.dist_port = find_free_port()
        self.amqp_base = f"pyamqp://guest:guest@127.0.0.1:{self.port}"
        self.env = self._environment()
        self.process: subprocess.Popen | None = None

    def _environment(self) -> dict:
        (self.base / "home").mkdir(parents=True, exist_ok=True)
        config = self.base / "rabbitmq.conf"
        # only what this node needs: the shared /etc/rabbitmq files would bind it to the shared broker's port
        config.write_text(f"listeners.tcp.default = 127.0.0.1:{self.port}\nloopback_users.guest = true\n")
        plugins = self.base / "enabled_plugins"
        plugins.write_text("[].\n")
        env_file = self.base / "rabbitmq-env.conf"
        env_file.write_text("")
        return {
            **os.environ,
            "HOME": str(self.base / "home"),  # its own Erlang cookie
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": str(config),
            "RABBITMQ_CONF_ENV_FILE": str(env_file),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(plugins),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_PID_FILE": str(self.base / "rabbit.pid"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.base / "advanced.config"),
        }

    def ctl(self, *args: str, timeout: float = 60) -> str:
        command = [_script("rabbitmqctl"), "-n", self.node, *args]
        done = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def start(self) -> None:
        server = _script("rabbitmq-server")
        if server is None or _script("rabbitmqctl") is None:
            raise PrivateRabbitUnavailable("rabbitmq-server is not installed")
        with open(self.base / "server.out", "ab") as out:
            self.process = subprocess.Popen(
                [server], env=self.env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise PrivateRabbitUnavailable(f"the node exited at start; see {self.base / 'server.out'}")
            try:
                self.ctl("await_startup", timeout=30)
                return
            except (RuntimeError, subprocess.TimeoutExpired):
                time.sleep(1)
        self.stop()
        raise PrivateRabbitUnavailable(f"the node did not start in {START_TIMEOUT_SECONDS}s")

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            self.ctl("stop", timeout=60)
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait()
        self.process = None

    # --- what running_platform needs of a broker -------------------------------------------------------

    def create_vhost(self, vhost: str) -> None:
        self.ctl("add_vhost", vhost)
        self.ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")

    def delete_vhost(self, vhost: str) -> None:
        self.ctl("delete_vhost", vhost)

    # --- faults ---------------------------------------------------------------------------------------

    def close_all_connections(self, reason: str = "fault suite") -> None:
        self.ctl("close_all_connections", reason)

    def restart_app(self, down_seconds: float) -> None:
        """`stop_app`, wait, `start_app`: the broker goes away and comes back with its durable state."""
        self.ctl("stop_app")
        time.sleep(down_seconds)
        self.ctl("start_app")
        self.ctl("await_startup")


@contextmanager
def private_rabbit(base: Path):
    """A started private node, stopped afterwards; raises PrivateRabbitUnavailable if it cannot run here."""
    rabbit = PrivateRabbit(base)
    rabbit.start()
    try:
        yield rabbit
    finally:
        rabbit.stop()
