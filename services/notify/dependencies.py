"""notify's own DependencyProvider: the courier (the delivery engine and its background loops)."""

from __future__ import annotations

import logging

from eventlet.queue import Empty, LightQueue
from nameko.extensions import DependencyProvider
from sqlalchemy.orm import sessionmaker

from services.notify import broadcasts, notices, statuses
from services.notify.delivery import Delivery, Settings
from services.notify.providers import build_providers
from services.notify.send_rate import SharedTokenBucket
from shared.platform.clock import Clock
from shared.platform.db import Database, make_engine
from shared.platform.outbox import Outbox
from shared.platform.personal_data_provider import PiiTools, keys_from_config

log = logging.getLogger(__name__)


class CourierHandle:
    def __init__(self, courier: Courier):
        self._courier = courier
        self.delivery = courier.delivery
        self.settings = courier.settings
        self.woken = False

    def wake(self) -> None:
        """Run the dispatcher as soon as this worker's transaction is over."""
        self.woken = True


class Courier(DependencyProvider):
    """Owns the providers and runs two loops: dispatch due notifications, and sweep (receipt timeouts,
    finished broadcasts). Every loop works from the database, so replicas share it. (A broadcast's recording
    is a job of the service's runner: `broadcasts.record_chunk`.)"""

    def __init__(self, database_attr: str = "db"):
        self.database_attr = database_attr
        self.handles: dict = {}

    def _dependency(self, kind, attr: str | None = None):
        for dep in self.container.dependencies:
            if isinstance(dep, kind) and (attr is None or dep.attr_name == attr):
                return dep
        raise LookupError(f"{self.container.service_name} needs a {kind.__name__} dependency")

    def setup(self):
        config = self.container.config
        # the loops use their own engine so that stop/kill can end them before closing its connections
        # (the container disposes `db` before it kills managed threads)
        self.db_engine = make_engine(config[self._dependency(Database, self.database_attr).url_key])
        self.Session = sessionmaker(bind=self.db_engine, expire_on_commit=False)
        self.threads: list = []
        self.clock = self._dependency(Clock)
        self.settings = Settings.from_config(config)
        self.interval = float(config.get("DISPATCH_INTERVAL_SECONDS", 1.0))
        self.sweep_interval = float(config.get("DELIVERY_SWEEP_SECONDS", 5.0))
        self.providers = build_providers(config)
        self.buckets = {
            statuses.SMS: SharedTokenBucket(
                self.Session,
                statuses.SMS,
                float(config.get("SMS_RATE_PER_SECOND", 200)),
                float(config.get("SMS_BURST", 400)),
            ),
            statuses.WECHAT: SharedTokenBucket(
                self.Session,
                statuses.WECHAT,
                float(config.get("WECHAT_RATE_PER_SECOND", 50)),
                float(config.get("WECHAT_BURST", 50)),
            ),
        }
        self.pii = PiiTools(keys_from_config(config))
        self.dispatch_wakeup: LightQueue = LightQueue()
        self.enabled = bool(config.get("DISPATCH_ENABLED", True))
        self.dispatchers = max(1, int(config.get("DISPATCH_LOOPS", 1)))

    def start(self):
        self.delivery = Delivery(
            self.Session,
            self.providers,
            self.buckets,
            self.pii,
            self.settings,
            self.clock.now,
            self._dependency(Outbox),
        )
        if self.enabled:
            name = self.container.service_name
            spawn = self.container.spawn_managed_thread
            # several dispatchers overlap one claim's HTTP calls with another's database work
            self.threads = [
                spawn(self._dispatch_loop, identifier=f"{name}.dispatch.{i}") for i in range(self.dispatchers)
            ]
            self.threads.append(spawn(self._sweep_loop, identifier=f"{name}.delivery_sweep"))

    def stop(self):
        for thread in self.threads:
            thread.kill()
        self.threads = []
        self.db_engine.dispose()

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx) -> CourierHandle:
        handle = self.handles[worker_ctx] = CourierHandle(self)
        return handle

    def worker_teardown(self, worker_ctx):
        handle = self.handles.pop(worker_ctx, None)
        if handle is not None and handle.woken:
            self.wake()

    def wake(self) -> None:
        self.dispatch_wakeup.put(True)

    @staticmethod
    def _wait(queue: LightQueue, seconds: float) -> None:
        try:
            queue.get(timeout=seconds)
            while True:
                queue.get_nowait()
        except Empty:
            pass

    def _dispatch_loop(self):
        while True:
            try:
                handled = self.delivery.dispatch()
            except Exception:
                log.exception("dispatch cycle failed; retrying")
                handled = 0
            if not handled:
                self._wait(self.dispatch_wakeup, self.interval)

    def _sweep_loop(self):
        while True:
            try:
                self.delivery.expire_receipts()
                self.delivery.apply_early_receipts()
                with self.Session() as session:
                    if notices.release_all_awaiting(session, self.pii, self.clock.now()):
                        session.commit()
                        self.dispatch_wakeup.put(True)
                    broadcasts.complete_finished(session, self.clock.now())
            except Exception:
                log.exception("delivery sweep failed; retrying")
            self._wait(LightQueue(), self.sweep_interval)
