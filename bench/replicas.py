"""Throughput with replicas: the core flow on the three-node RabbitMQ cluster with one, then two, then one
replica of each consumer (housing, notify, stats), each beside the others in the same run.

    make bench-replicas
    .venv/bin/python -m bench.replicas [--approvals 500] [--concurrency 10]

The cluster is ops/cluster.py's (three nodes on free loopback ports, quorum queues as deploy/k8s declares);
the services run on PostgreSQL (replicas share their database; SQLite is for one replica only) with the log
SMS provider. Each phase pushes the approvals through bench/core_flow.py's `throughput` and reports:
* approvals per second, end to end (submit + approve until notify's SMS record and stats' count);
* CPU ms per approval of each service, summed over its replicas (from /proc): on two cores a second
  replica cannot add cores, so this and the waits below say more than approvals/s;
* where an approval's SMS waits: approval → `subsidy_approved` published by housing's relay (its outbox
  row's `published_at`) → notify records the SMS (the record's `created_at`, stamped when its batch is
  taken up). The queue-wait share is the second leg's part of the whole: the event waiting in the broker
  and in notify's prefetch buffer for a free worker;
* ready messages in the consumers' queues (sampled every 0.1 s by passive declares, integrated over the
  phase and divided by the approvals: Little's law), i.e. the part of that wait spent in the broker itself.
The baselines of the same run: bare nameko RPC + event rounds and kombu confirmed publishes on the cluster,
and the one-replica phase run again last (the drift of a shared machine shows between the two).
Prints a table and writes var/bench/replicas.json.
"""

from __future__ import annotations

import warnings

warnings.filterwarnings("ignore")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from datetime import datetime  # noqa: E402
from pathlib import Path  # noqa: E402

from kombu import Connection  # noqa: E402
from nameko.testing.utils import find_free_port  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy import create_engine, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.baseline import bare_nameko_rounds_per_second, kombu_confirmed_publishes_per_second  # noqa: E402
from bench.core_flow import Clients, final_sms_record, throughput  # noqa: E402
from bench.footprint import drop_databases, fresh_databases  # noqa: E402
from bench.results import save  # noqa: E402
from ops.cluster import NodeUnavailable, RabbitCluster  # noqa: E402
from ops.launcher import stop_platform  # noqa: E402
from ops.sandbox import running_platform  # noqa: E402
from shared.platform.models import OutboxMessage  # noqa: E402

REPLICATED = ("housing", "notify", "stats")
OTHERS = ("insurance", "events")
SAMPLE_SECONDS = 0.1
WARM_UP = 20


class ReadySampler:
    """Integrates the ready messages of `queues` over time (passive declares on one connection: cheap for
    the broker, unlike `rabbitmqctl list_queues`): message-seconds waited in each queue."""

    def __init__(self, amqp_uri: str, queues: list[str]):
        self.connection = Connection(amqp_uri)
        self.queues = queues
        self.waited = dict.fromkeys(queues, 0.0)
        self.running = True
        self.thread = eventlet.spawn(self._run)

    def _run(self):
        channel = self.connection.channel()
        last = time.perf_counter()
        while self.running:
            ready = {name: channel.queue_declare(queue=name, passive=True).message_count for name in self.queues}
            now = time.perf_counter()
            for name, count in ready.items():
                self.waited[name] += count * (now - last)
            last = now
            eventlet.sleep(SAMPLE_SECONDS)

    def stop(self) -> dict:
        self.running = False
        self.thread.wait()
        self.connection.release()
        return self.waited


def consumer_queues(cluster: RabbitCluster, vhost: str) -> dict[str, list[str]]:
    listing = cluster.any_ctl("list_queues", "-p", vhost, "name", "--quiet", "--no-table-headers")
    names = [line.strip() for line in listing.splitlines() if line.strip()]
    return {
        "rpc-housing": ["rpc-housing"],
        "notify": [name for name in names if name.startswith("evt-") and name.endswith("--notify")],
        "stats": [name for name in names if name.startswith("evt-") and name.endswith("--stats")],
    }


def phase(clients: Clients, queues: dict, approvals: int, concurrency: int, replica_dirs: tuple) -> dict:
    platform = clients.platform
    sampler = ReadySampler(platform.amqp_uri, sorted({name for names in queues.values() for name in names}))
    reviewed: list = []
    try:
        result = throughput(clients, approvals, concurrency, replica_dirs, reviewed=reviewed)
    finally:
        waited = sampler.stop()
    published = approvals_published_at(platform.env["HOUSING_DATABASE_URL"])
    relay, queued = [], []  # per approval: approval → event published; published → notify records the SMS
    for form, application_id, answer in reviewed:
        recorded = datetime.fromisoformat(final_sms_record(clients.started[0], form)["created_at"])
        relay.append((published[application_id] - datetime.fromisoformat(answer["reviewed_at"])).total_seconds())
        queued.append((recorded - published[application_id]).total_seconds())
    latency = statistics.mean(relay) + statistics.mean(queued)
    return {
        **result,
        "ready_wait_ms_per_approval": {
            group: 1000 * sum(waited[name] for name in names) / approvals for group, names in queues.items()
        },
        "approval_to_sms_mean_ms": 1000 * latency,
        "relay_mean_ms": 1000 * statistics.mean(relay),
        "published_to_recorded_mean_ms": 1000 * statistics.mean(queued),
        "queue_wait_share": statistics.mean(queued) / latency if latency else 0.0,
        "load_average": os.getloadavg(),
    }


def approvals_published_at(housing_url: str) -> dict[str, datetime]:
    """When housing's relay published each `subsidy_approved` event, by application id (its outbox rows)."""
    engine = create_engine(housing_url)
    with Session(engine) as session:
        rows = session.execute(
            select(OutboxMessage.body, OutboxMessage.published_at).where(
                OutboxMessage.routing_key == "subsidy_approved"
            )
        ).all()
    engine.dispose()
    return {json.loads(body)["data"]["application_id"]: at for body, at in rows}


@contextmanager
def second_replicas(platform, run_dir: Path):
    """A second process of each replicated service, on the platform's broker and databases."""
    try:
        platform.start_replicas(REPLICATED, run_dir)
        yield (run_dir,)
    finally:
        stop_platform(run_dir)


def started_cluster(base: Path) -> RabbitCluster:
    ports = [find_free_port() for _ in range(6)]
    cluster = RabbitCluster(base, ports[:3], ports[3:], prefix=f"nc-bench-{uuid.uuid4().hex[:4]}")
    cluster.start()
    return cluster


def run(args, console: Console, tmp: Path) -> dict:
    with console.status("starting the three-node cluster"):
        cluster = started_cluster(tmp / "cluster")
    urls = fresh_databases()
    try:
        env = {"EVENT_QUEUE_TYPE": "quorum"}
        with running_platform(tmp / "platform", database_urls=urls, extra_env=env, broker=cluster) as platform:
            with console.status("baselines on the cluster"):
                bare = bare_nameko_rounds_per_second(platform.amqp_uri, concurrency=args.concurrency)
                kombu = kombu_confirmed_publishes_per_second(platform.amqp_uri)
            clients = Clients(platform, args.concurrency)
            try:
                queues = consumer_queues(cluster, platform.amqp_uri.split(";")[0].rsplit("/", 1)[1])
                throughput(clients, WARM_UP, args.concurrency)
                phases = {}
                with console.status(f"one replica each: {args.approvals} approvals"):
                    phases["one"] = phase(clients, queues, args.approvals, args.concurrency, ())
                with second_replicas(platform, tmp / "replica-2") as dirs:
                    throughput(clients, WARM_UP, args.concurrency, dirs)
                    with console.status(f"two replicas each: {args.approvals} approvals"):
                        phases["two"] = phase(clients, queues, args.approvals, args.concurrency, dirs)
                with console.status(f"one replica each again: {args.approvals} approvals"):
                    phases["one_again"] = phase(clients, queues, args.approvals, args.concurrency, ())
            finally:
                clients.stop()
    finally:
        drop_databases(urls)
        cluster.stop()
    return {
        "baseline_bare_nameko": {k: v for k, v in bare.items() if k != "latencies"},
        "baseline_kombu_confirms": kombu,
        "phases": phases,
        "measured_at": datetime.now().isoformat(timespec="seconds"),
    }


def table(results: dict, concurrency: int) -> Table:
    phases = results["phases"]
    shown = Table(title="core flow on the three-node cluster: one vs two replicas of housing, notify, stats")
    shown.add_column("figure")
    for name in ("one", "two", "one_again"):
        shown.add_column(name.replace("_", " "), justify="right")

    def row(label, value):
        shown.add_row(label, *(value(phases[name]) for name in ("one", "two", "one_again")))

    for name, label in (
        ("bare_nameko", "bare nameko RPC+event rounds/s"),
        ("kombu_confirms", "kombu confirmed publishes/s"),
    ):
        shown.add_row(f"{label} (baseline)", f"{results[f'baseline_{name}']['per_second']:.0f}", "", "")
    row(f"end-to-end approvals/s (concurrency {concurrency})", lambda p: f"{p['per_second']:.1f}")
    for service in REPLICATED:
        row(f"CPU ms per approval: {service}", lambda p, s=service: f"{p['cpu_ms_per_approval'][s]:.1f}")
    row("CPU ms per approval: insurance + events", lambda p: f"{sum(p['cpu_ms_per_approval'][s] for s in OTHERS):.1f}")
    for group in ("rpc-housing", "notify", "stats"):
        ready = lambda p, g=group: f"{p['ready_wait_ms_per_approval'][g]:.1f}"  # noqa: E731
        row(f"ready in the broker, ms per approval: {group}", ready)
    row("approval → SMS record, mean ms", lambda p: f"{p['approval_to_sms_mean_ms']:.0f}")
    row("  of which approval → event published (relay)", lambda p: f"{p['relay_mean_ms']:.0f}")
    row("  of which published → notify records it", lambda p: f"{p['published_to_recorded_mean_ms']:.0f}")
    row("queue-wait share (published → recorded)", lambda p: f"{p['queue_wait_share']:.0%}")
    row("load average (1 min) at the end", lambda p: f"{p['load_average'][0]:.1f}")
    return shown


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--approvals", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            results = run(args, console, Path(tmp))
        except NodeUnavailable as exc:
            console.print(f"no three-node RabbitMQ cluster here: {exc}")
            return 1
    console.print(table(results, args.concurrency))
    console.print(f"written to {save('replicas', results)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
