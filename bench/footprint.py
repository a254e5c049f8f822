"""What one approval leaves behind, measured: database bytes per service, event sizes, broker connections
and queues. The inputs of the province arithmetic in docs/scale.md.

    make bench-footprint
    .venv/bin/python -m bench.footprint [--approvals 1000]

Runs a throw-away platform on PostgreSQL (five fresh databases, its own RabbitMQ vhost, the log SMS
provider), measures each database's size, pushes the approvals through the core flow (submit + approve
until notify's SMS record and stats' count), VACUUMs and measures again. Prints the table and writes
var/bench/footprint.json.
"""

from __future__ import annotations

import warnings

warnings.filterwarnings("ignore")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import tempfile  # noqa: E402
import uuid  # noqa: E402
from datetime import datetime  # noqa: E402
from pathlib import Path  # noqa: E402

import requests  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from bench.core_flow import Clients, throughput  # noqa: E402
from bench.housing_disbursement import POSTGRES_ADMIN_URL  # noqa: E402
from bench.results import save  # noqa: E402
from ops.sandbox import running_platform  # noqa: E402
from shared.platform.config import SERVICES  # noqa: E402

MANAGEMENT = "http://127.0.0.1:15672/api"
TABLE_SIZES = text(
    "SELECT c.relname, pg_total_relation_size(c.oid), c.reltuples FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = 'public'"
)
EVENT_SIZES = text("SELECT routing_key, count(*), avg(octet_length(body)) FROM outbox GROUP BY routing_key")


def fresh_databases() -> dict[str, str]:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    urls = {}
    with admin.connect() as connection:
        for service in SERVICES:
            name = f"bench_footprint_{service}_{uuid.uuid4().hex[:8]}"
            connection.execute(text(f'CREATE DATABASE "{name}"'))
            urls[service] = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    admin.dispose()
    return urls


def drop_databases(urls: dict[str, str]) -> None:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for url in urls.values():
            connection.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def table_sizes(url: str) -> dict[str, tuple[int, float]]:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("VACUUM ANALYZE"))  # reltuples and the visibility map as a quiet day leaves them
        sizes = {name: (int(size), float(rows)) for name, size, rows in connection.execute(TABLE_SIZES)}
    engine.dispose()
    return sizes


def event_sizes(url: str) -> dict[str, dict]:
    engine = create_engine(url)
    with engine.connect() as connection:
        found = {key: {"count": count, "bytes": float(size)} for key, count, size in connection.execute(EVENT_SIZES)}
    engine.dispose()
    return found


def broker_footprint(vhost: str) -> dict:
    def get(*path):
        return requests.get("/".join((MANAGEMENT, *path)), auth=("guest", "guest"), timeout=10).json()

    connections = [c for c in get("connections") if c["vhost"] == vhost]
    queues = get("queues", vhost)
    return {
        "connections": len(connections),
        "channels": sum(c.get("channels", 0) for c in connections),
        "queues": len(queues),
        "rpc_reply_queues": sum(1 for q in queues if q["name"].startswith("rpc.reply-")),
    }


def growth(before: dict, after: dict, approvals: int) -> dict[str, dict]:
    """Bytes and rows per approval for every table that grew."""
    grown = {}
    for name, (size, rows) in after.items():
        size_before, rows_before = before.get(name, (0, 0.0))
        if size > size_before or rows > rows_before:
            grown[name] = {
                "bytes_per_approval": (size - size_before) / approvals,
                "rows_per_approval": max(0.0, rows - max(rows_before, 0.0)) / approvals,
            }
    return grown


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--approvals", type=int, default=1000)
    args = parser.parse_args()
    console = Console()
    urls = fresh_databases()
    try:
        with tempfile.TemporaryDirectory() as tmp, running_platform(Path(tmp), database_urls=urls) as platform:
            before = {service: table_sizes(url) for service, url in urls.items()}
            clients = Clients(platform, 10)
            try:
                with console.status(f"{args.approvals} approvals"):
                    run = throughput(clients, args.approvals, 10)
                broker = broker_footprint(platform.amqp_uri.rsplit("/", 1)[1])
            finally:
                clients.stop()
            after = {service: table_sizes(url) for service, url in urls.items()}
            events = event_sizes(urls["housing"])
    finally:
        drop_databases(urls)
    tables = {service: growth(before[service], after[service], args.approvals) for service in SERVICES}
    results = {
        "approvals": args.approvals,
        "tables": tables,
        "bytes_per_approval": {
            service: sum(t["bytes_per_approval"] for t in grown.values()) for service, grown in tables.items()
        },
        "housing_events": events,
        "broker": broker,
        "cpu_ms_per_approval": run["cpu_ms_per_approval"],
        "measured_at": datetime.now().isoformat(timespec="seconds"),
    }
    table = Table(title=f"footprint of {args.approvals} approvals (PostgreSQL)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for service, size in results["bytes_per_approval"].items():
        table.add_row(f"{service} database bytes per approval", f"{size:,.0f}")
        for name, grown in sorted(tables[service].items(), key=lambda item: -item[1]["bytes_per_approval"]):
            table.add_row(f"  {name}", f"{grown['bytes_per_approval']:,.0f} B, {grown['rows_per_approval']:.2f} rows")
    for key, found in sorted(events.items()):
        table.add_row(f"event {key}: mean body bytes", f"{found['bytes']:,.0f} (×{found['count']})")
    for key, value in broker.items():
        table.add_row(f"broker {key} (5 services + 30 client proxies)", str(value))
    table.add_row("CPU ms per approval: " + " / ".join(run["cpu_ms_per_approval"]),
                  " / ".join(f"{ms:.1f}" for ms in run["cpu_ms_per_approval"].values()))  # fmt: skip
    console.print(table)
    out = save("footprint", results)
    console.print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
