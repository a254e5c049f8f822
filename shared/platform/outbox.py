"""Transactional outbox: events are rows written in the business transaction, then relayed to RabbitMQ.

`self.outbox.add(event_type, data)` validates the data against its contract and adds the row to the
worker's session; the service's own commit makes the change and the event durable together. After the
worker ends, the relay publishes the rows with publisher confirms, in nameko's event wire format, and
marks them published. A sweep republishes rows a crash left behind. Publishing twice is allowed:
consumers are idempotent on `event_id`.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from weakref import WeakKeyDictionary

import eventlet
from eventlet.queue import Empty, LightQueue
from kombu import Connection
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.extensions import DependencyProvider
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from shared.platform.contracts import build_envelope, load_all
from shared.platform.crashpoints import crash_point
from shared.platform.db import bulk_insert, database_of
from shared.platform.event_signing import SIGNATURE_HEADER, EventSigner
from shared.platform.metrics import OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE, OUTBOX_PUBLISH_FAILURES, OUTBOX_PUBLISHED
from shared.platform.models import OutboxMessage, utcnow
from shared.platform.publishing import ConfirmedBatchPublisher, OutgoingMessage, PublishFailed
from shared.platform.topology import event_exchange, publisher_declarations
from shared.platform.tracing import current_traceparent, publish_spans

log = logging.getLogger(__name__)

RELAY_BATCH = 200


class OutboxWriter:
    """What a worker sees as `self.outbox`."""

    def __init__(
        self, session: Session, source: str, correlation_id: str | None, pending: list, worker_data: dict | None = None
    ):
        self._session = session
        self._source = source
        self._correlation_id = correlation_id
        self._worker_data = worker_data  # the worker's context data: a traceparent its caller sent
        self._pending = pending
        self._last_created = None

    @property
    def pending(self) -> list:
        """The event ids written and not yet handed to the relay."""
        return self._pending

    def _next_created(self, count: int = 1) -> datetime:
        """Strictly increasing `created_at` per writer, so the relay and the sweep keep the order added."""
        created = utcnow()
        if self._last_created is not None and created <= self._last_created:
            created = self._last_created + timedelta(microseconds=1)
        self._last_created = created + timedelta(microseconds=count - 1)
        return created

    def add(self, event_type: str, data: dict, version: int | None = None) -> dict:
        envelope = build_envelope(
            self._source,
            event_type,
            data,
            version=version,
            correlation_id=self._correlation_id,
            traceparent=current_traceparent(self._worker_data),
        )
        self._session.add(
            OutboxMessage(
                event_id=envelope["event_id"],
                exchange=f"{self._source}.events",
                routing_key=event_type,
                body=json.dumps(envelope, ensure_ascii=False),
                created_at=self._next_created(),
                attempts=0,
            )
        )
        self._pending.append(envelope["event_id"])
        return envelope

    def add_many(self, event_type: str, items: list[dict]) -> list[dict]:
        """Like `add` for many events, written with multi-row INSERTs (a batch job's thousands of events)."""
        return self.write([(event_type, data) for data in items])

    def write(self, events: list[tuple[str, dict]]) -> list[dict]:
        """Like `add` for each `(event_type, data)`, in that order, but INSERTed now with Core rather than at
        the next flush: for a path that writes its other rows with Core too."""
        traceparent = current_traceparent(self._worker_data)
        envelopes = [
            build_envelope(self._source, event_type, data, correlation_id=self._correlation_id, traceparent=traceparent)
            for event_type, data in events
        ]
        created = self._next_created(len(envelopes))
        rows = [
            {
                "event_id": envelope["event_id"],
                "exchange": f"{self._source}.events",
                "routing_key": envelope["event_type"],
                "body": json.dumps(envelope, ensure_ascii=False),
                "created_at": created + timedelta(microseconds=position),
                "attempts": 0,
            }
            for position, envelope in enumerate(envelopes)
        ]
        self._session.flush()  # rows added before these stay ahead of them
        bulk_insert(self._session, OutboxMessage.__table__, rows)
        self._pending.extend(envelope["event_id"] for envelope in envelopes)
        return envelopes


class Outbox(DependencyProvider):
    def __init__(self, database_attr: str = "db"):
        self.database_attr = database_attr
        self.pending: WeakKeyDictionary = WeakKeyDictionary()

    def setup(self):
        config = self.container.config
        self.service = self.container.service_name
        self.sweep_seconds = float(config.get("OUTBOX_SWEEP_SECONDS", 5))
        self.grace = timedelta(seconds=float(config.get("OUTBOX_SWEEP_GRACE_SECONDS", 2)))
        self.database = database_of(self.container, self.database_attr)
        self.amqp_uri = config[AMQP_URI_CONFIG_KEY]
        self.declarations = publisher_declarations(self.service, config)
        self.publisher = ConfirmedBatchPublisher(self.amqp_uri, self.declarations)
        self.exchange = event_exchange(self.service)
        self._signer: EventSigner | None = None
        self.queue: LightQueue = LightQueue()
        self.relaying = False
        for counter in (OUTBOX_PUBLISHED, OUTBOX_PUBLISH_FAILURES):  # at 0 from the start, for `increase()`
            counter.labels(self.service)
        load_all()

    def start(self):
        # listeners on the session factory, registered once: one per worker session cost more than the
        # rest of the dependency's work; each worker's session carries its own pending list in `info`
        event.listen(self.database.Session, "after_commit", self._hand_over)
        event.listen(self.database.Session, "after_rollback", self._forget)
        self.declare_topology()
        self.container.spawn_managed_thread(self._relay_loop, identifier=f"{self.service}.outbox_relay")
        self.container.spawn_managed_thread(self._sweep_loop, identifier=f"{self.service}.outbox_sweep")

    def declare_topology(self):
        with Connection(self.amqp_uri) as connection:
            channel = connection.channel()
            for entity in self.declarations:
                entity(channel).declare()  # a bound copy: the shared entity may be bound to a closed channel

    def get_dependency(self, worker_ctx) -> OutboxWriter:
        pending = self.pending.setdefault(worker_ctx, [])
        session = self.database.session_for(worker_ctx)
        # hand rows to the relay at each commit, not only when the worker ends: a batch job that commits
        # page by page streams its events out, and the sweep never mistakes them for rows left by a crash
        session.info[self] = pending
        return OutboxWriter(session, self.service, correlation_id_of(worker_ctx), pending, worker_ctx.data)

    def writer_for(self, session) -> OutboxWriter:
        """A writer for a background loop's own session (no worker, so no correlation id): after that
        session commits, `committed(writer)` hands the rows to the relay at once."""
        return OutboxWriter(session, self.service, None, [])

    def committed(self, writer: OutboxWriter) -> None:
        if writer.pending:
            self.queue.put(list(writer.pending))
            writer.pending.clear()

    def _hand_over(self, session) -> None:
        pending = session.info.get(self)
        if pending:
            self.queue.put(list(pending))
            pending.clear()

    def _forget(self, session) -> None:
        pending = session.info.get(self)
        if pending:
            pending.clear()  # rows of a rolled-back transaction do not exist

    def worker_teardown(self, worker_ctx):
        pending = self.pending.pop(worker_ctx, None)
        if pending:
            # rows of a rolled-back transaction do not exist; the relay simply finds nothing for them
            self.queue.put(pending)

    def _relay_loop(self):
        while True:
            ids = list(self.queue.get())
            while len(ids) < RELAY_BATCH:
                try:
                    ids.extend(self.queue.get_nowait())
                except Empty:
                    break
            self.relaying = True
            try:
                self.publish_ids(ids)
            except Exception:
                log.exception("outbox relay failed; the sweep will retry")
            finally:
                self.relaying = False

    def relay_busy(self) -> bool:
        """The relay is publishing (or has queued) rows of this replica: a sweep now would publish them twice."""
        return self.relaying or self.queue.qsize() > 0

    def _sweep_loop(self):
        while True:
            eventlet.sleep(self.sweep_seconds)
            if self.relay_busy():
                continue
            try:
                self.sweep()
            except Exception:
                log.exception("outbox sweep failed; retrying next interval")

    def publish_ids(self, ids: list[str]) -> int:
        """Publish these rows (if still unpublished) in the order they were written, a chunk at a time."""
        published = 0
        for start in range(0, len(ids), RELAY_BATCH):
            with self.database.Session() as session:
                query = (
                    select(OutboxMessage)
                    .where(
                        OutboxMessage.event_id.in_(ids[start : start + RELAY_BATCH]),
                        OutboxMessage.published_at.is_(None),
                    )
                    .order_by(OutboxMessage.created_at)
                )
                rows = session.scalars(_skipping_locked(session, query)).all()
                count = self._publish_rows(session, rows)
            published += count
            if count < len(rows):
                break  # the broker failed: keep the order, the sweep publishes the rest
        return published

    def sweep(self, limit: int = 1000) -> int:
        """Publish rows older than the grace period that are still unpublished; returns how many."""
        published = 0
        while True:
            with self.database.Session() as session:
                query = (
                    select(OutboxMessage)
                    .where(OutboxMessage.published_at.is_(None), OutboxMessage.created_at < utcnow() - self.grace)
                    .order_by(OutboxMessage.created_at)
                    .limit(RELAY_BATCH)
                )
                rows = session.scalars(_skipping_locked(session, query)).all()
                count = self._publish_rows(session, rows)
            published += count
            if count < RELAY_BATCH or published >= limit or self.relay_busy():
                break
        self.refresh_backlog()
        return published

    def refresh_backlog(self) -> int:
        """The backlog and its oldest row's age, from the `ix_outbox_unpublished` index: it reads only the
        unpublished rows, so the sweep's refresh costs the same with a million published ones."""
        with self.database.Session() as session:
            backlog, oldest = session.execute(
                select(func.count(), func.min(OutboxMessage.created_at)).where(OutboxMessage.published_at.is_(None))
            ).one()
        OUTBOX_BACKLOG.labels(self.service).set(backlog or 0)
        OUTBOX_OLDEST_AGE.labels(self.service).set(_age_seconds(oldest))
        return backlog or 0

    def _publish_rows(self, session: Session, rows: list[OutboxMessage]) -> int:
        """Publish the rows as one confirmed batch and mark them; on failure mark none (they go again)."""
        if not rows:
            session.rollback()
            return 0
        sign = self.signer().sign
        exchange = self.exchange.name
        messages = [
            OutgoingMessage(row.body, exchange, row.routing_key, row.event_id, {SIGNATURE_HEADER: sign(row.body)})
            for row in rows
        ]
        crash_point(self.service, "outbox.before_publish")
        try:
            with publish_spans(self.exchange.name, rows):
                self.publisher.publish(messages)
        except PublishFailed as exc:
            session.rollback()
            OUTBOX_PUBLISH_FAILURES.labels(self.service).inc(len(rows))
            log.warning("outbox publish of %d rows failed (%s); they stay for the next attempt", len(rows), exc)
            return 0
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.event_id.in_([row.event_id for row in rows]))
            .values(published_at=utcnow(), attempts=OutboxMessage.attempts + 1)
        )
        session.commit()
        OUTBOX_PUBLISHED.labels(self.service).inc(len(rows))
        return len(rows)

    def signer(self) -> EventSigner:
        # made at first use: a production start without keys is refused, naming them, before this runs
        # (not a cached_property: nameko's extension discovery reads every attribute of the instance)
        if self._signer is None:
            self._signer = EventSigner.for_service(self.service, self.container.config)
        return self._signer

    def stop(self):
        self.publisher.close()

    kill = stop


def _age_seconds(created_at: datetime | None) -> float:
    if created_at is None:
        return 0.0
    return max(0.0, (utcnow() - created_at).total_seconds())


def _skipping_locked(session: Session, query):
    """The rows are locked until they are marked, and rows another transaction holds are left to it: so the
    relay and the sweeps of several replicas publish disjoint rows. Without it, three housing replicas paying
    one period published 800 of 2,000 events twice: one replica's relay was still working through its rows
    when they passed the grace period, and another replica's sweep published them too. (PostgreSQL; SQLite
    runs one replica, whose own sweep waits while its relay is busy.)"""
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True)
    return query


def correlation_id_of(worker_ctx) -> str:
    """An explicit correlation id from the caller wins; otherwise the root of nameko's call-id stack."""
    explicit = worker_ctx.context_data.get("correlation_id")
    if explicit:
        return str(explicit)
    stack = worker_ctx.call_id_stack or [worker_ctx.call_id]
    return stack[0]
