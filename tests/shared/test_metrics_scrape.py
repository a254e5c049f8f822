"""A scrape of /metrics runs no database query: the gauges counted from whole tables (stats' archive, notify's
notifications, events' registrations, insurance's enrolments) are kept by the `keep_gauges` timer."""

import importlib

import pytest
import requests
from nameko.testing.services import entrypoint_hook, entrypoint_waiter
from sqlalchemy import event

from shared.platform.db import Database
from tests.support.databases import migrate

SERVICES = {
    "stats": ("StatsService", "stat_archive", "newcitizen_stats_archived_events"),
    "notify": ("NotifyService", "notifications", "newcitizen_notify_notifications"),
    "events": ("EventsService", "registrations", "newcitizen_events_registrations"),
    "insurance": ("InsuranceService", "enrolments", "newcitizen_insurance_enrolments"),
}
QUIET_TIMERS = {
    key: 3600
    for key in (
        "DISPATCH_INTERVAL_SECONDS", "DELIVERY_SWEEP_SECONDS", "HOLD_SWEEP_SECONDS", "REMINDER_SWEEP_SECONDS",
        "CLOSE_SWEEP_SECONDS", "RENEWAL_SWEEP_SECONDS", "OUTBOX_SWEEP_SECONDS",
    )
}  # fmt: skip


@pytest.mark.parametrize("service", SERVICES)
def test_a_scrape_issues_no_query(service, container_factory, service_config, sqlite_url):
    class_name, table, gauge = SERVICES[service]
    service_cls = getattr(importlib.import_module(f"services.{service}.service"), class_name)
    migrate(service, sqlite_url)
    config = service_config(sqlite_url, METRICS_REFRESH_SECONDS=3600, **QUIET_TIMERS)
    container = container_factory(service_cls, config)
    with entrypoint_waiter(container, "keep_gauges"):  # the eager first refresh, at start
        container.start()
    [database] = [dep for dep in container.dependencies if isinstance(dep, Database)]
    statements = []
    event.listen(database.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

    for _ in range(5):
        response = requests.get(f"http://{config['WEB_SERVER_ADDRESS']}/metrics", timeout=10)
        assert response.status_code == 200 and gauge in response.text
    assert statements == []

    with entrypoint_hook(container, "keep_gauges") as keep_gauges:  # the timer's tick is where they are read
        keep_gauges()
    assert any(table in statement for statement in statements), statements
