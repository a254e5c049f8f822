"""The promise on a three-node RabbitMQ cluster (ops/cluster.py) with two replicas of housing, notify and
stats: every approval yields exactly one delivered SMS at the gateway and one stats count while a node is
lost, and RPC answers again within a bound measured here. The faults: kill -9 of the node that leads the
busiest queues, a rolling restart of every node, and one node partitioned away and healed.

Every queue is a quorum queue (EVENT_QUEUE_TYPE=quorum: event, retry, dead-letter and RPC request queues),
and every client has the cluster as kombu's failover list, as deploy/k8s declares. `make test-cluster`
runs it (CLUSTER_APPROVALS per fault); `make test` leaves it out (the `cluster` marker). The table is
printed at the end and written to var/cluster.json; docs/reliability.md has the figures.
"""

import json
import os
import time
import uuid
from contextlib import suppress

import eventlet
import pytest
import yaml
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.utils import find_free_port
from sqlalchemy import create_engine, text

from ops.cluster import NodeUnavailable, RabbitCluster
from ops.launcher import stop_platform
from shared.platform.config import REPO_ROOT
from tests.conftest import POSTGRES_ADMIN_URL, postgres_reachable
from tests.faults.test_faults import (
    GATEWAY_KEY,
    NOTIFY_RETRY_DELAYS,
    _eventually,
    approvals_counted,
    approve_stream,
    fake_gateway,
    fresh_applications,
    outbox_backlog,
    settled,
    sms_records,
)
from tests.support.broker import drain_dead_letters
from tests.support.platform import running_platform
from tests.support.waiting import ConditionNotMet, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.e2e]

APPROVALS = int(os.environ.get("CLUSTER_APPROVALS", "40"))
REPLICATED = ("housing", "notify", "stats")
BUSIEST = "evt-housing-subsidy_approved--notify"  # with its --stats twin, the queues every approval crosses
PARTITION_SECONDS = 10
RESULTS: list[dict] = []
# the install's queue type (deploy/k8s/base/config.yaml): the suite runs what Kubernetes declares
INSTALL_CONFIG = REPO_ROOT / "deploy" / "k8s" / "base" / "config.yaml"
QUEUE_TYPE = yaml.safe_load(INSTALL_CONFIG.read_text())["data"]["EVENT_QUEUE_TYPE"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    ports = [find_free_port() for _ in range(6)]
    found = RabbitCluster(tmp_path_factory.mktemp("cluster"), ports[:3], ports[3:], prefix=f"nc-{uuid.uuid4().hex[:4]}")
    try:
        found.start()
    except NodeUnavailable as exc:
        pytest.skip(f"no three-node RabbitMQ cluster here ({exc}); the shared broker is never faulted")
    yield found
    found.stop()


@pytest.fixture(scope="module")
def databases():
    """housing, notify and stats on PostgreSQL: two replicas of each share their database."""
    if not postgres_reachable():
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}")
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    names = {service: f"nc_cluster_{service}_{uuid.uuid4().hex[:8]}" for service in REPLICATED}
    with admin.connect() as connection:
        for name in names.values():
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    yield {service: f"{base}/{name}" for service, name in names.items()}
    with admin.connect() as connection:
        for name in names.values():
            connection.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(scope="module")
def platform(cluster, databases, tmp_path_factory):
    gateway_port = find_free_port()
    env = {
        "EVENT_QUEUE_TYPE": QUEUE_TYPE,
        "OUTBOX_SWEEP_SECONDS": "1",
        "OUTBOX_SWEEP_GRACE_SECONDS": "1",
        "NOTIFY_SMS_PROVIDER": "gateway",
        "NOTIFY_SMS_GATEWAY_URL": f"http://127.0.0.1:{gateway_port}",
        "NOTIFY_SMS_GATEWAY_KEY": GATEWAY_KEY,
        "NOTIFY_SMS_GATEWAY_TIMEOUT_SECONDS": "2",
        "NOTIFY_RETRY_DELAYS_SECONDS": json.dumps(NOTIFY_RETRY_DELAYS),
        "NOTIFY_DISPATCH_LEASE_SECONDS": "10",
    }
    run_dir = tmp_path_factory.mktemp("platform")
    second = run_dir / "replica-2"
    with running_platform(run_dir, database_urls=databases, extra_env=env, broker=cluster) as running:
        try:
            running.start_replicas(REPLICATED, second)
            running.cluster = cluster
            with fake_gateway(running, gateway_port):
                yield running
        finally:
            stop_platform(second)
            _print_table()


def vhost_of(platform) -> str:
    return platform.amqp_uri.split(";")[0].rsplit("/", 1)[1]


# --- the faults: each returns the moment it is over -----------------------------------------------------


def kill_busiest_leader(platform):
    platform.cluster.leader_of(vhost_of(platform), BUSIEST).kill()
    return time.monotonic()


kill_busiest_leader.__name__ = "kill -9 the node leading the busiest queues"


def rolling_restart(platform):
    platform.cluster.rolling_restart()
    return time.monotonic()


rolling_restart.__name__ = "rolling restart of the three nodes"


def partition_busiest_leader(platform):
    node = platform.cluster.leader_of(vhost_of(platform), BUSIEST)
    platform.cluster.partition(node)
    eventlet.sleep(PARTITION_SECONDS)
    platform.cluster.heal(node)
    wait_for(lambda: len(platform.cluster.running_nodes()) == 3, timeout=120, interval=1, what="the node rejoined")
    return time.monotonic()


partition_busiest_leader.__name__ = f"partition the busiest queues' leader {PARTITION_SECONDS}s, heal"

FAULTS = [kill_busiest_leader, rolling_restart, partition_busiest_leader]


# --- what the checks read -------------------------------------------------------------------------------


class RpcProbe:
    """Calls stats.summary every 0.2 s on its own connection (a new one after any failure) and keeps the
    longest stretch without an answer: how long RPC was unavailable to a client that retries."""

    def __init__(self, platform):
        self.platform, self.longest, self.running = platform, 0.0, True
        self.thread = eventlet.spawn(self.run)

    def run(self):
        last_answer, client = time.monotonic(), None
        while self.running:
            try:
                client = client or ClusterRpcProxy(self.platform.rpc_config(), timeout=5, context_data={
                    "authorization": self.platform.token("cluster-probe", "admin")}).start()  # fmt: skip
                client.stats.summary()
                now = time.monotonic()
                self.longest, last_answer = max(self.longest, now - last_answer), now
            except Exception:
                with suppress(Exception):
                    client.stop()
                client = None
            eventlet.sleep(0.2)
        with suppress(Exception):
            client.stop()

    def stop(self) -> float:
        self.running = False
        self.thread.wait()
        return self.longest


def queue_depths(platform) -> dict:
    """Ready and unacknowledged messages in the work, retry and RPC request queues, by name (nonzero only)."""
    listing = platform.cluster.any_ctl(
        "list_queues", "-p", vhost_of(platform), "name", "messages_ready", "messages_unacknowledged", "type",
        "--quiet", "--no-table-headers",
    )  # fmt: skip
    rows = [line.split() for line in listing.splitlines() if len(line.split()) == 4]
    watched = ("evt-", "rpc-", *(f"{service}.retry." for service in REPLICATED))
    return {name: (int(ready), int(unacked)) for name, ready, unacked, _ in rows
            if name.startswith(watched) and (int(ready) or int(unacked))}  # fmt: skip


def queue_types(platform) -> dict:
    listing = platform.cluster.any_ctl("list_queues", "-p", vhost_of(platform), "name", "type", "--quiet",
                                       "--no-table-headers")  # fmt: skip
    return dict(line.split()[:2] for line in listing.splitlines() if len(line.split()) >= 2)


def whole_again(platform) -> None:
    """Every node started and running in the cluster before the next fault."""
    for node in platform.cluster.nodes:
        if node.process is None:
            node.start()
    wait_for(lambda: len(platform.cluster.running_nodes()) == 3, timeout=180, interval=1, what="three nodes running")


def test_every_queue_that_matters_is_a_quorum_queue_on_the_cluster(platform):
    context = {"authorization": platform.token("cluster-checker", "admin")}
    with ClusterRpcProxy(platform.rpc_config(), context_data=context, timeout=30) as rpc:
        rpc.stats.summary()  # a client's reply queue exists while it is connected
        types = queue_types(platform)
    matters = {name: kind for name, kind in types.items() if name.startswith(("evt-", "rpc-")) or ".retry." in name
               or name.endswith(".dlq")}  # fmt: skip
    assert {f"rpc-{service}" for service in ("housing", "notify", "stats", "events", "insurance")} <= set(matters)
    assert {BUSIEST, "notify.dlq", "stats.retry.200"} <= set(matters)
    assert set(matters.values()) == {"quorum"}
    replies = {kind for name, kind in types.items() if name.startswith("rpc.reply-")}
    assert replies == {"classic"}, "a client's own reply queue: it goes with its connection, the next one declares anew"


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.__name__ for fault in FAULTS])
def test_exactly_one_sms_and_one_count_per_approval_through_a_node_fault(platform, fault):
    before = _eventually(lambda: approvals_counted(platform))
    forms = fresh_applications(APPROVALS)
    probe = RpcProbe(platform)
    try:
        recovery = approve_stream(platform, forms, fault, at=APPROVALS // 3)
        wait_for(lambda: settled(platform, forms, before), timeout=240, interval=1, what="every approval settled")
        rpc_gap = probe.stop()
        # settled, yet receipts and notify's own events may still be crossing: what is left is what never
        # drains (a message held for good), so the depths are those of the moment the queues ran dry
        depths = _drained_depths(platform, timeout=90)
        records, counted = sms_records(platform, forms), approvals_counted(platform) - before
        sent = platform.gateway.sent_to()
        delivered = [sum(1 for n in found if n["status"] == "delivered") for found in records]
        lost = sum(1 for d in delivered if d == 0) + max(0, APPROVALS - counted)
        lost += sum(1 for form in forms if sent[form["phone"]] == 0)
        duplicated = sum(len(found) - 1 for found in records if len(found) > 1) + max(0, counted - APPROVALS)
        duplicated += sum(sent[form["phone"]] - 1 for form in forms if sent[form["phone"]] > 1)
        RESULTS.append({"fault": fault.__name__, "approvals": APPROVALS, "lost": lost, "duplicated": duplicated,
                        "recovery_seconds": round(recovery, 1), "rpc_unanswered_seconds": round(rpc_gap, 1),
                        "unacked": sum(unacked for _, unacked in depths.values())})  # fmt: skip
        dead = {service: drain_dead_letters(platform.amqp_uri, service, {"EVENT_QUEUE_TYPE": QUEUE_TYPE})
                for service in ("notify", "stats")}  # fmt: skip
        assert (lost, duplicated, RESULTS[-1]["unacked"]) == (0, 0, 0), {**RESULTS[-1], "left in queues": depths}
        assert outbox_backlog(platform) == 0
        assert dead == {"notify": [], "stats": []}
    finally:
        probe.running = False
        whole_again(platform)


def _drained_depths(platform, timeout: float) -> dict:
    """{} once every watched queue is empty with nothing unacknowledged; else what was still there at the end."""
    seen: dict = {}

    def drained():
        seen.clear()
        seen.update(queue_depths(platform))
        return not seen

    try:
        wait_for(drained, timeout=timeout, interval=1)
    except ConditionNotMet:
        pass
    return dict(seen)


def _print_table():
    if not RESULTS:
        return
    header = f"{'fault':<52}{'approvals':>10}{'lost':>6}{'dup':>5}{'recovery s':>12}{'rpc gap s':>11}{'unacked':>9}"
    lines = ["", header] + [
        f"{r['fault']:<52}{r['approvals']:>10}{r['lost']:>6}{r['duplicated']:>5}{r['recovery_seconds']:>12}"
        f"{r['rpc_unanswered_seconds']:>11}{r['unacked']:>9}"
        for r in RESULTS
    ]
    print("\n".join(lines))
    out = REPO_ROOT / "var" / "cluster.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(RESULTS, indent=2))
