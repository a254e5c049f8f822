"""A RabbitMQ node of the test's own, for faults that hit the broker itself (`stop_app`, closing every
connection). The machine's shared broker serves other people's tests; a fault aimed at it would break
theirs. This node (`ops.cluster.RabbitNode`) has its own name, ports, data, logs and Erlang cookie under a
temporary directory, no plugins unless asked (`prometheus_port`: RabbitMQ's own `rabbitmq_prometheus` on
that loopback port), and is stopped afterwards. `rabbitmqctl -n <node>` controls it and nothing else.
"""

from __future__ import annotations

import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from nameko.testing.utils import find_free_port

from ops.cluster import NodeUnavailable, RabbitNode

PrivateRabbitUnavailable = NodeUnavailable  # no RabbitMQ installation here, or the node did not start


class PrivateRabbit(RabbitNode):
    def __init__(self, base: Path, prometheus_port: int | None = None):
        name = f"nc-faults-{uuid.uuid4().hex[:6]}@localhost"
        config = f"prometheus.tcp.ip = 127.0.0.1\nprometheus.tcp.port = {prometheus_port}\n" if prometheus_port else ""
        super().__init__(base, name, find_free_port(), find_free_port(), home=base / "home", config=config)
        self.prometheus_port = prometheus_port
        if prometheus_port:
            (base / "enabled_plugins").write_text("[rabbitmq_prometheus].\n")

    def close_all_connections(self, reason: str = "fault suite") -> None:
        self.ctl("close_all_connections", reason)

    def restart_app(self, down_seconds: float) -> None:
        """`stop_app`, wait, `start_app`: the broker goes away and comes back with its durable state."""
        self.ctl("stop_app")
        time.sleep(down_seconds)
        self.ctl("start_app")
        self.ctl("await_startup")


@contextmanager
def private_rabbit(base: Path, prometheus_port: int | None = None):
    """A started private node, stopped afterwards; raises PrivateRabbitUnavailable if it cannot run here."""
    rabbit = PrivateRabbit(base, prometheus_port)
    rabbit.start()
    try:
        yield rabbit
    finally:
        rabbit.stop()
