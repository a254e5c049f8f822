"""Read-only checks of a running platform: health over HTTP and RPC, and each service's outbox backlog."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import eventlet
import requests
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import func, select

from ops.settings import ServiceSettings, Settings
from shared.platform.clock import utcnow
from shared.platform.db import make_engine
from shared.platform.models import OutboxMessage

HTTP_TIMEOUT_SECONDS = 3
RPC_TIMEOUT_SECONDS = 5


@dataclass
class Health:
    service: str
    http: str  # "ok", "unavailable (db error)", "unreachable", ...
    rpc: str
    version: str | None = None

    @property
    def ok(self) -> bool:
        return self.http == "ok" and self.rpc == "ok"


def http_health(service: ServiceSettings, timeout: float = HTTP_TIMEOUT_SECONDS) -> tuple[str, str | None]:
    try:
        response = requests.get(f"{service.http_base}/readyz", timeout=timeout)
    except requests.RequestException as exc:
        return f"unreachable ({type(exc).__name__})", None
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}, not JSON", None
    if response.status_code == 200 and body.get("status") == "ok":
        return "ok", body.get("version")
    failing = ", ".join(key for key in ("db", "broker") if body.get(key) not in (None, "ok")) or "?"
    return f"{body.get('status', response.status_code)} ({failing})", body.get("version")


def rpc_health(settings: Settings, service: str, timeout: float = RPC_TIMEOUT_SECONDS) -> tuple[str, str | None]:
    try:
        with ServiceRpcProxy(service, settings.rpc_config(), timeout=timeout) as proxy:
            body = proxy.health()
    except Exception as exc:  # an absent service is a timeout or "unknown service": report it, go on
        return f"no answer ({type(exc).__name__})", None
    status = body.get("status")
    return ("ok" if status == "ok" else f"{status} (db {body.get('db')})"), body.get("version")


def service_health(settings: Settings, name: str) -> Health:
    http_state, http_version = http_health(settings.service(name))
    rpc_state, rpc_version = rpc_health(settings, name)
    return Health(name, http_state, rpc_state, http_version or rpc_version)


def health(settings: Settings) -> list[Health]:
    """All services at once, so five silent services cost one timeout, not five."""
    pool = eventlet.GreenPool(len(settings.services))
    return list(pool.imap(lambda name: service_health(settings, name), settings.services))


@dataclass
class OutboxStatus:
    service: str
    backlog: int | None
    oldest_age_seconds: float | None = None
    failing: int | None = None  # unpublished rows that have already failed at least once
    source: str = "database"
    error: str | None = None


def outbox_from_database(service: ServiceSettings, now: datetime | None = None) -> OutboxStatus:
    engine = make_engine(service.database_url)
    try:
        with engine.connect() as connection:
            unpublished = OutboxMessage.published_at.is_(None)
            backlog, oldest = connection.execute(
                select(func.count(), func.min(OutboxMessage.created_at)).where(unpublished)
            ).one()
            failing = connection.scalar(select(func.count()).where(unpublished, OutboxMessage.attempts > 0))
    except Exception as exc:  # no database yet, or not migrated: say so and carry on with the others
        return OutboxStatus(service.name, None, error=f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
    finally:
        engine.dispose()
    age = None
    if oldest is not None:
        if oldest.tzinfo is None:  # SQLite hands back naive datetimes; they were stored as UTC
            oldest = oldest.replace(tzinfo=UTC)
        age = ((now or utcnow()) - oldest).total_seconds()
    return OutboxStatus(service.name, int(backlog), age, int(failing or 0))


BACKLOG_SAMPLE = re.compile(
    r'^newcitizen_outbox_backlog\{[^}]*service="(?P<service>[^"]+)"[^}]*\}\s+(?P<value>\S+)', re.M
)


def outbox_from_metrics(service: ServiceSettings, timeout: float = HTTP_TIMEOUT_SECONDS) -> OutboxStatus:
    try:
        response = requests.get(f"{service.http_base}/metrics", timeout=timeout)
        response.raise_for_status()
    except requests.RequestException as exc:
        return OutboxStatus(service.name, None, source="metrics", error=f"unreachable ({type(exc).__name__})")
    for match in BACKLOG_SAMPLE.finditer(response.text):
        if match["service"] == service.name:
            return OutboxStatus(service.name, int(float(match["value"])), source="metrics")
    missing = "no outbox gauge (no outbox, or its first sweep has not run)"
    return OutboxStatus(service.name, None, source="metrics", error=missing)


def outbox_status(settings: Settings, via: str = "database") -> list[OutboxStatus]:
    read = outbox_from_database if via == "database" else outbox_from_metrics
    return [read(service) for service in settings.services.values()]
