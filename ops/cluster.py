"""RabbitMQ nodes of the project's own on loopback: one private node (the fault suite) or a three-node cluster
(the cluster suite, `make cluster-start`), never the machine's shared broker.

    python -m ops.cluster start [--base var/cluster]   # three nodes on 5701-5703, clustered; prints AMQP_URI
    python -m ops.cluster status|stop [--base var/cluster]

Each node has its own name, AMQP and distribution ports, data, logs and config under `base`; the nodes of a
cluster share one Erlang cookie (one HOME) and are joined with `rabbitmqctl join_cluster`. No plugins. The
cluster pauses a minority on a partition (`pause_minority`), as the Kubernetes cluster does. Services reach
it through kombu's failover list, `amqp://…:5701/vh;amqp://…:5702/vh;amqp://…:5703/vh` (`amqp_uri`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

START_TIMEOUT_SECONDS = 120
NODES = 3
FIRST_PORT, FIRST_DIST_PORT = 5701, 25701  # away from the shared broker's 5672, 15672 and 25672
DEFAULT_BASE = Path(__file__).resolve().parent.parent / "var" / "cluster"


class NodeUnavailable(Exception):
    """No RabbitMQ installation here, or a node did not start: the caller skips, visibly."""


def script(name: str) -> str | None:
    # Debian's /usr/sbin scripts re-exec as the rabbitmq user and drop a temporary HOME; the real ones are here
    packaged = Path("/usr/lib/rabbitmq/bin") / name
    return str(packaged) if packaged.exists() else shutil.which(name)


class RabbitNode:
    def __init__(self, base: Path, node: str, port: int, dist_port: int, home: Path, config: str = ""):
        self.base, self.node, self.port, self.dist_port = base, node, port, dist_port
        self.amqp_base = f"pyamqp://guest:guest@127.0.0.1:{port}"
        self.env = self._environment(home, config)
        self.process: subprocess.Popen | None = None

    def _environment(self, home: Path, extra_config: str) -> dict:
        self.base.mkdir(parents=True, exist_ok=True)
        home.mkdir(parents=True, exist_ok=True)
        config = self.base / "rabbitmq.conf"
        # only what this node needs: the shared /etc/rabbitmq files would bind it to the shared broker's port
        config.write_text(f"listeners.tcp.default = 127.0.0.1:{self.port}\nloopback_users.guest = true\n{extra_config}")
        (self.base / "enabled_plugins").write_text("[].\n")
        (self.base / "rabbitmq-env.conf").write_text("")
        return {
            **os.environ,
            "HOME": str(home),  # the Erlang cookie: a cluster's nodes share it, nobody else does
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": str(config),
            "RABBITMQ_CONF_ENV_FILE": str(self.base / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_PID_FILE": str(self.base / "rabbit.pid"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.base / "advanced.config"),
        }

    def ctl(self, *args: str, timeout: float = 60) -> str:
        command = [script("rabbitmqctl"), "-n", self.node, *args]
        done = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def start(self) -> None:
        self.launch()
        self.await_startup()

    def launch(self) -> None:
        server = script("rabbitmq-server")
        if server is None or script("rabbitmqctl") is None:
            raise NodeUnavailable("rabbitmq-server is not installed")
        with open(self.base / "server.out", "ab") as out:
            self.process = subprocess.Popen(
                [server], env=self.env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        self.pid_file.write_text(str(self.process.pid))

    def await_startup(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise NodeUnavailable(f"{self.node} exited at start; see {self.base / 'server.out'}")
            try:  # rabbitmqctl waits while the node boots; it fails at once while the node is not reachable
                self.ctl("await_startup", "--timeout", "60", timeout=90)
                return
            except (RuntimeError, subprocess.SubprocessError):
                time.sleep(1)  # the node's distribution is not up yet: nothing to wait on but the clock
        self.stop()
        raise NodeUnavailable(f"{self.node} did not start in {START_TIMEOUT_SECONDS}s")

    @property
    def pid_file(self) -> Path:
        return self.base / "server.pid"

    def kill(self) -> None:
        """kill -9 the whole node: its process group, the Erlang VM and its port programs."""
        pid = self.process.pid if self.process is not None else int(self.pid_file.read_text())
        os.killpg(pid, signal.SIGKILL)
        if self.process is not None:
            self.process.wait()
        self.process = None
        self.pid_file.unlink(missing_ok=True)

    def stop(self) -> None:
        if self.process is None and not self.pid_file.exists():
            return
        try:
            self.ctl("stop", timeout=60)
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        pid = self.process.pid if self.process is not None else int(self.pid_file.read_text())
        deadline = time.monotonic() + 30
        while _alive(pid, self.process) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(pid, self.process):
            os.killpg(pid, signal.SIGKILL)
        if self.process is not None:
            self.process.wait()
        self.process = None
        self.pid_file.unlink(missing_ok=True)

    def create_vhost(self, vhost: str) -> None:
        self.ctl("add_vhost", vhost)
        self.ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")

    def delete_vhost(self, vhost: str) -> None:
        self.ctl("delete_vhost", vhost)

    def uri(self, vhost: str) -> str:
        return f"{self.amqp_base}/{vhost}"


def _alive(pid: int, process: subprocess.Popen | None) -> bool:
    if process is not None:
        return process.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class RabbitCluster:
    """Three nodes, one cookie, clustered on the first. It is a broker for ops.sandbox.running_platform
    (`create_vhost`, `delete_vhost`, `uri(vhost)`: the failover list), and it can lose a node three ways."""

    def __init__(self, base: Path = DEFAULT_BASE, ports=None, dist_ports=None, prefix: str = "nc-cluster"):
        ports = ports or [FIRST_PORT + i for i in range(NODES)]
        dist_ports = dist_ports or [FIRST_DIST_PORT + i for i in range(NODES)]
        partitions = "cluster_partition_handling = pause_minority\n"
        self.nodes = [
            RabbitNode(
                base / f"node{i}", f"{prefix}-{i}@localhost", port, dist_port, home=base / "home", config=partitions
            )  # fmt: skip
            for i, (port, dist_port) in enumerate(zip(ports, dist_ports, strict=True), start=1)
        ]
        self.base = base

    def start(self) -> None:
        try:
            for node in self.nodes:  # booting at once: each boot mostly waits
                node.launch()
            for node in self.nodes:
                node.await_startup()
            first = self.nodes[0].node
            for node in self.nodes[1:]:
                node.ctl("stop_app")
                node.ctl("join_cluster", first)
                node.ctl("start_app")
                node.ctl("await_startup")
        except Exception:
            self.stop()
            raise
        described = {"nodes": [node.node for node in self.nodes], "uri": self.uri("")}
        (self.base / "cluster.json").write_text(json.dumps(described))

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.stop()

    def running(self) -> list[RabbitNode]:
        return [node for node in self.nodes if node.process is not None or node.pid_file.exists()]

    def any_ctl(self, *args: str) -> str:
        """rabbitmqctl on the first node that answers: whichever is down, the cluster is asked."""
        errors = []
        for node in self.running():
            try:
                return node.ctl(*args, timeout=30)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                errors.append(str(exc))
        raise RuntimeError(f"no node answered {args[0]}: {errors}")

    def members(self) -> dict:
        """`cluster_status` as one node sees it: the running nodes and the partitions it knows of."""
        return json.loads(self.any_ctl("cluster_status", "--formatter", "json"))

    def running_nodes(self) -> set[str]:
        return set(self.members().get("running_nodes", []))

    def leader_of(self, vhost: str, queue: str) -> RabbitNode:
        listing = self.any_ctl("list_queues", "-p", vhost, "name", "leader", "--quiet", "--no-table-headers")
        leaders = dict(line.split()[:2] for line in listing.splitlines() if len(line.split()) >= 2)
        return next(node for node in self.nodes if node.node == leaders[queue])

    def rolling_restart(self) -> None:
        """Each node in turn, as an upgrade does: wait until its quorum queues keep a majority without it
        (`rabbitmq-upgrade await_online_quorum_plus_one`), stop it, start it, wait for it to boot."""
        for node in self.nodes:
            upgrade = [script("rabbitmq-upgrade"), "-n", node.node, "await_online_quorum_plus_one", "-t", "120"]
            subprocess.run(upgrade, env=node.env, capture_output=True, timeout=150, check=True)
            node.stop()
            node.start()

    def partition(self, node: RabbitNode) -> None:
        """Cut `node` off from its peers and only them: it presents a wrong cookie to each peer (and expects
        one from them), so their distribution links fail while rabbitmqctl still reaches every node. With
        `pause_minority` the node pauses itself and closes its clients' connections."""
        peers = ", ".join(f"'{other.node}'" for other in self.nodes if other is not node)
        cut = "begin erlang:set_cookie(N, nc_partitioned), erlang:disconnect_node(N) end"
        node.ctl("eval", f"[{cut} || N <- [{peers}]], ok.")

    def heal(self, node: RabbitNode) -> None:
        """The real cookie again: the paused node finds its peers and starts again by itself."""
        peers = ", ".join(f"'{other.node}'" for other in self.nodes if other is not node)
        node.ctl("eval", f"C = erlang:get_cookie(), [erlang:set_cookie(N, C) || N <- [{peers}]], ok.")

    def create_vhost(self, vhost: str) -> None:
        self.any_ctl("add_vhost", vhost)
        self.any_ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")

    def delete_vhost(self, vhost: str) -> None:
        self.any_ctl("delete_vhost", vhost)

    def uri(self, vhost: str) -> str:
        """kombu's failover list: a client connects to the first node that answers and moves on when it dies."""
        return ";".join(node.uri(vhost) for node in self.nodes)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("start", "stop", "status"))
    parser.add_argument("--base", type=Path, default=DEFAULT_BASE)
    args = parser.parse_args(argv)
    cluster = RabbitCluster(args.base)
    if args.action == "start":
        cluster.start()
        print(f"AMQP_URI='{cluster.uri('')}'")
    elif args.action == "stop":
        cluster.stop()
    else:
        print(json.dumps(cluster.members(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
