"""Benchmark: a `/metrics` scrape with a million rows in each of stats' archive, notify's notifications and
events' registrations, on PostgreSQL.

    make bench-metrics        # or: .venv/bin/python -m bench.metrics_scrape [--rows 1000000] [--scrapes 50]

For each service: a fresh, migrated database seeded server-side (`generate_series`), the service started in
this process on a throw-away vhost, its eager `keep_gauges` tick waited for, then

* the scrape as it is: `GET /metrics`, `--scrapes` times;
* the same-run baseline, the scrape as it was: the gauges' queries on the request path (one
  `keep_gauges` tick) followed by the same `GET /metrics`, `--baseline` times.

Prints median and p95 of each in milliseconds and writes them to var/bench/metrics_scrape.json.
"""

from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import requests  # noqa: E402
from nameko.containers import ServiceContainer  # noqa: E402
from nameko.testing.services import entrypoint_hook, entrypoint_waiter  # noqa: E402
from nameko.testing.utils import find_free_port  # noqa: E402
from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, Table, text  # noqa: E402
from sqlalchemy.types import TypeDecorator  # noqa: E402

from bench.housing_disbursement import drop_database, fresh_database  # noqa: E402
from shared.platform.db import make_engine  # noqa: E402
from shared.platform.migrations import upgrade  # noqa: E402

MANAGEMENT = "http://127.0.0.1:15672/api"
AUTH = ("guest", "guest")
QUIET = 3600  # every other timer of the service stays out of the measurement


def seed_sql(table: Table, rows: int, overrides: dict[str, str]) -> str:
    """`INSERT … SELECT … FROM generate_series(1, rows) AS i`, a value for every NOT NULL column."""
    columns, values = [], []
    for column in table.columns:
        if column.name in overrides:
            value = overrides[column.name]
        elif column.nullable or (column.primary_key and column.autoincrement is True and _is(column, Integer)):
            continue
        elif _is(column, DateTime):
            value = "now()"
        elif _is(column, Date):
            value = "current_date"
        elif _is(column, Boolean):
            value = "false"
        elif _is(column, Integer):
            value = "1"
        elif _is(column, JSON):
            value = "'{}'"
        else:
            value = "i::text"
        columns.append(column.name)
        values.append(value)
    # identifiers come from the model, values are expressions of the series: no outside text
    return f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {', '.join(values)} FROM generate_series(1, {rows}) AS i"  # noqa: S608, E501


def _is(column, kind) -> bool:
    column_type = column.type.impl_instance if isinstance(column.type, TypeDecorator) else column.type
    return isinstance(column_type, kind)


def seed_stats(url: str, rows: int) -> None:
    from services.stats.models import ArchivedEvent

    overrides = {"source": "'housing'", "event_type": "'subsidy_approved'", "body": "'{}'"}
    _run(url, seed_sql(ArchivedEvent.__table__, rows, overrides))


def seed_notify(url: str, rows: int) -> None:
    from services.notify import statuses
    from services.notify.models import Notification

    status = "(ARRAY[{}])[1 + i % {}]".format(", ".join(f"'{s}'" for s in statuses.ALL), len(statuses.ALL))
    _run(url, seed_sql(Notification.__table__, rows, {"status": status, "channel": "'sms'"}))


def seed_events(url: str, rows: int) -> None:
    from services.events import models as m

    activities = 1000
    _run(url, seed_sql(m.Venue.__table__, 1, {}))
    overrides = {"venue_id": "'1'", "status": f"'{m.SCHEDULED}'", "capacity": str(rows), "seats_taken": "0"}
    _run(url, seed_sql(m.Activity.__table__, activities, overrides))
    status = "(ARRAY[{}])[1 + i % {}]".format(", ".join(f"'{s}'" for s in m.ACTIVE), len(m.ACTIVE))
    overrides = {"activity_id": f"(1 + i % {activities})::text", "status": status, "seats": "1"}
    _run(url, seed_sql(m.Registration.__table__, rows, overrides))


SERVICES = {
    "stats": ("StatsService", seed_stats),
    "notify": ("NotifyService", seed_notify),
    "events": ("EventsService", seed_events),
}


def _run(url: str, statement: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text(statement))
        connection.execute(text("ANALYZE"))
    engine.dispose()


def make_vhost() -> str:
    vhost = f"metrics-bench-{uuid.uuid4().hex[:8]}"
    requests.put(f"{MANAGEMENT}/vhosts/{vhost}", auth=AUTH, timeout=10).raise_for_status()
    requests.put(
        f"{MANAGEMENT}/permissions/{vhost}/guest",
        json={"configure": ".*", "write": ".*", "read": ".*"},
        auth=AUTH,
        timeout=10,
    ).raise_for_status()
    return vhost


def config_for(url: str, vhost: str) -> dict:
    return {
        "AMQP_URI": f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}",
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{find_free_port()}",
        "DATABASE_URL": url,
        "ENV": "development",
        "METRICS_REFRESH_SECONDS": QUIET,
        **{
            key: QUIET
            for key in (
                "OUTBOX_SWEEP_SECONDS",
                "DISPATCH_INTERVAL_SECONDS",
                "DELIVERY_SWEEP_SECONDS",
                "HOLD_SWEEP_SECONDS",
                "REMINDER_SWEEP_SECONDS",
                "CLOSE_SWEEP_SECONDS",
                "RENEWAL_SWEEP_SECONDS",
            )
        },  # fmt: skip
    }


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def summary(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "median_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 2),
    }


def measure(service: str, rows: int, scrapes: int, baseline: int) -> dict:
    class_name, seed = SERVICES[service]
    url = fresh_database("postgres")
    vhost = make_vhost()
    try:
        upgrade(service, url)
        seeding = timed(lambda: seed(url, rows))
        service_cls = getattr(importlib.import_module(f"services.{service}.service"), class_name)
        config = config_for(url, vhost)
        container = ServiceContainer(service_cls, config)
        with entrypoint_waiter(container, "keep_gauges", timeout=600):
            container.start()
        metrics_url = f"http://{config['WEB_SERVER_ADDRESS']}/metrics"

        def scrape():
            requests.get(metrics_url, timeout=600).raise_for_status()

        def scrape_as_it_was():
            with entrypoint_hook(container, "keep_gauges") as keep_gauges:
                keep_gauges()
            scrape()

        try:
            scrape()  # warm
            now = [timed(scrape) for _ in range(scrapes)]
            before = [timed(scrape_as_it_was) for _ in range(baseline)]
        finally:
            container.stop()
        return {"rows": rows, "seed_s": round(seeding / 1000, 1), "scrape": summary(now), "baseline": summary(before)}
    finally:
        requests.delete(f"{MANAGEMENT}/vhosts/{vhost}", auth=AUTH, timeout=10)
        drop_database(url)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--scrapes", type=int, default=50)
    parser.add_argument("--baseline", type=int, default=5)
    parser.add_argument("--services", nargs="*", default=list(SERVICES), choices=list(SERVICES))
    args = parser.parse_args()
    results = {}
    print(f"{'service':<8} {'rows':>9} {'scrape p50':>11} {'p95':>8} {'baseline p50':>13} {'p95':>9}  (ms)")
    for service in args.services:
        result = results[service] = measure(service, args.rows, args.scrapes, args.baseline)
        now, before = result["scrape"], result["baseline"]
        print(
            f"{service:<8} {args.rows:>9,} {now['median_ms']:>11.1f} {now['p95_ms']:>8.1f}"
            f" {before['median_ms']:>13.1f} {before['p95_ms']:>9.1f}"
        )
    out = Path("var/bench/metrics_scrape.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
