"""The HTTP probes: `/livez` (the process and its event loop answer) and `/readyz` (its broker and database).

Both are answered by the connection's own greenlet, never by a worker: a probe must not wait behind, nor
take a slot from, the `max_workers` that serve RPC and events. Readiness reads the state of connections the
service already holds (each queue consumer's connection, a `SELECT 1` through the engine's pool) and
never opens a broker connection of its own; one check runs at a time and its answer serves every probe
arriving in the next `READY_CACHE_SECONDS`, so a burst of probes costs one database round trip.
"""

from __future__ import annotations

import time

import eventlet
from eventlet.semaphore import Semaphore

from shared import __version__
from shared.platform.amqp_queue_consumer import BrokerTolerantQueueConsumer
from shared.platform.db import Database
from shared.platform.web import SafeHttpRequestHandler, json_response

READY_CACHE_SECONDS = 1.0
DB_CHECK_TIMEOUT_SECONDS = 2.0


def liveness(container) -> tuple[bool, dict]:
    return True, {"service": container.service_name, "status": "ok", "version": __version__}


def readiness(container) -> tuple[bool, dict]:
    broker_ok = broker_connected(container)
    db_ok = databases_answer(container)
    ready = broker_ok and db_ok
    return ready, {
        "service": container.service_name,
        "status": "ok" if ready else "unavailable",
        "db": "ok" if db_ok else "error",
        "broker": "ok" if broker_ok else "error",
        "version": __version__,
    }


def broker_connected(container) -> bool:
    consumers = [ext for ext in container.subextensions if isinstance(ext, BrokerTolerantQueueConsumer)]
    return bool(consumers) and all(consumer.broker_connected for consumer in consumers)


def databases_answer(container) -> bool:
    databases = [dep for dep in container.dependencies if isinstance(dep, Database)]
    # psycopg waits through eventlet's green select (shared.platform.db), so the timeout also bounds a database that
    # stopped answering
    with eventlet.Timeout(DB_CHECK_TIMEOUT_SECONDS, False):
        return all(database.healthy() for database in databases)
    return False


class ProbeHandler(SafeHttpRequestHandler):
    """`SafeHttpRequestHandler`'s limits, then the check's answer where it would take a worker."""

    def __init__(self, url: str, check, **kwargs):
        super().__init__("GET", url, **kwargs)
        self.check = check
        self.lock = Semaphore()
        self.last: tuple[float, tuple[bool, dict]] | None = None

    def answer(self, request):
        ok, body = self.checked()
        return json_response(body, status=200 if ok else 503)

    def checked(self) -> tuple[bool, dict]:
        with self.lock:  # probes arriving during a check wait for it and share its answer
            if self.last is None or time.monotonic() - self.last[0] >= READY_CACHE_SECONDS:
                self.last = (time.monotonic(), self.check(self.container))
            return self.last[1]


probe = ProbeHandler.decorator
