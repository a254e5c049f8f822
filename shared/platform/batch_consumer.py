"""Event consumers that work in batches: one idempotency query, one transaction and one ack for many events.

    subscribe(StatsService, {("housing", "subsidy_approved"): archive, ...})   # archive(service, event)
    subscribe(StatsService, table, batch={archive: archive_many})               # archive_many(service, events)

Each line of the table becomes one entrypoint, `on_<source>_<event_type>`, on a `BatchingEventHandler`:

* A message is checked as by `shared.platform.event_consumer` (size, decoding, envelope, contract) as it
  arrives; a bad one is dead-lettered alone at once and never joins a batch.
* Checked envelopes are gathered until `EVENT_BATCH_SIZE` are waiting, or the consumer is free and
  `EVENT_BATCH_WAIT_MS` has passed (0: what has arrived by then). One batch per entrypoint is in a worker
  at a time, so while one is applied the next one gathers: at low load a lone message is applied at once,
  under load batches grow by themselves. Nothing touches the database while a batch gathers.
* The worker reads the processed-event rows of the whole batch in one query, skips the events already
  applied (and repeats of one event inside the batch), adds the ledger rows and applies the rest with the
  handler's batch form (`handler(service, events)`; the single form in a loop when none is given) in one
  transaction, then commits once. The batch is acked after the commit, with one `multiple` ack when that
  settles nothing else (`amqp_queue_consumer.UndecodableTolerantQueueConsumer.ack_messages`).
* If the batch cannot be applied — a poison event (`PermanentError`, `ValidationError`), a bug, a conflict —
  it is rolled back and its events are applied one at a time exactly as `shared.platform.event_consumer` does, each with
  its own commit: the poison event is retried or dead-lettered alone with its reason, the others commit
  once. When the database is unreachable no event is tried: each waits round the delay queues without
  using an attempt, as in `shared.platform.event_consumer`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import eventlet
from eventlet.event import Event
from sqlalchemy import select

from shared.platform.crashpoints import crash_point
from shared.platform.event_consumer import Handler, ReliableEventHandler, consume_one, database_unavailable
from shared.platform.event_consumer import handler_name as default_name
from shared.platform.metrics import EVENTS_CONSUMED
from shared.platform.models import ProcessedEvent

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 50
DEFAULT_BATCH_WAIT_MS = 0

BatchHandler = Callable[[object, list[dict]], object]  # (the worker's service instance, fresh envelopes)


class BatchingEventHandler(ReliableEventHandler):
    """A `ReliableEventHandler` whose worker gets a list of envelopes and returns one outcome per envelope
    (None: applied or a duplicate; an exception: that message is retried or dead-lettered alone)."""

    def setup(self):
        super().setup()
        config = self.container.config
        self.batch_size = max(1, int(config.get("EVENT_BATCH_SIZE", DEFAULT_BATCH_SIZE)))
        self.batch_wait = max(0, int(config.get("EVENT_BATCH_WAIT_MS", DEFAULT_BATCH_WAIT_MS))) / 1000
        self.waiting: list[tuple[dict, object]] = []
        self.full = Event()
        self.gathering = False

    def dispatch(self, envelope: dict, message) -> None:
        self.waiting.append((envelope, message))
        if len(self.waiting) >= self.batch_size and not self.full.ready():
            self.full.send()
        if not self.gathering:
            self.gathering = True
            self.container.spawn_managed_thread(self._run_batches, identifier=f"{self.consumer_name}.batches")

    def _run_batches(self) -> None:
        try:
            while self.waiting:
                self._gather()
                batch, self.waiting = self.waiting[: self.batch_size], self.waiting[self.batch_size :]
                if self.full.ready():
                    self.full = Event()
                self._apply(batch)
        finally:
            self.gathering = False

    def _gather(self) -> None:
        eventlet.sleep(0)  # the messages already read off the socket are checked and join first
        if self.batch_wait and len(self.waiting) < self.batch_size:
            with eventlet.Timeout(self.batch_wait, False):
                self.full.wait()

    def _apply(self, batch: list[tuple[dict, object]]) -> None:
        envelopes = [envelope for envelope, _message in batch]
        messages = [message for _envelope, message in batch]
        done = Event()

        def handle_result(worker_ctx, result=None, exc_info=None):
            try:
                self.settle(messages, result, exc_info)
            finally:
                done.send()
            return result, exc_info

        try:
            context_data = self.unpack_message_headers(messages[0])
            self.container.spawn_worker(self, (envelopes,), {}, context_data=context_data, handle_result=handle_result)
        except Exception:  # ContainerBeingKilled, or the pool refused: the broker hands them out again
            for message in messages:
                self.queue_consumer.requeue_message(message)
            return
        done.wait()

    def settle(self, messages: list, outcomes, exc_info) -> None:
        if exc_info is not None:  # the worker itself failed (a dependency, say): the same for every message
            outcomes = [exc_info[1]] * len(messages)
        applied = [message for message, outcome in zip(messages, outcomes, strict=True) if outcome is None]
        self.succeeded(applied)
        for message, outcome in zip(messages, outcomes, strict=True):
            if outcome is not None:
                self.failed(message, outcome)

    def succeeded(self, messages: list) -> None:
        EVENTS_CONSUMED.labels(self.container.service_name, self.consumer_name, "success").inc(len(messages))
        self.queue_consumer.ack_messages(messages)


def consume_batch(service, consumer: str, one: Handler, many: BatchHandler, events: list[dict]) -> list:
    """Apply `events` once each in one transaction; one outcome per event (None, or what to retry it for)."""
    session = service.db
    fresh: dict[str, dict] = {}
    for event in events:
        fresh.setdefault(str(event["event_id"]), event)
    try:
        applied = set(
            session.scalars(
                select(ProcessedEvent.event_id).where(
                    ProcessedEvent.consumer == consumer, ProcessedEvent.event_id.in_(list(fresh))
                )
            )
        )
        for event_id in applied:
            del fresh[event_id]
        duplicates = len(events) - len(fresh)
        if duplicates:
            EVENTS_CONSUMED.labels(service.name, consumer, "duplicate").inc(duplicates)
        if fresh:
            session.add_all([ProcessedEvent(consumer=consumer, event_id=event_id) for event_id in fresh])
            many(service, list(fresh.values()))
            crash_point(service.name, "consumer.before_commit")
            session.commit()
            crash_point(service.name, "consumer.after_commit")
        else:
            session.rollback()  # ends the read transaction
        return [None] * len(events)
    except Exception as exc:
        session.rollback()
        if database_unavailable(exc):
            return [exc] * len(events)  # none of them is at fault; each waits for the database
        if len(events) > 1:
            log.info("a batch of %d failed (%s); applying it one event at a time", len(events), type(exc).__name__)
        return [_outcome(service, consumer, one, event) for event in events]


def _outcome(service, consumer: str, one: Handler, event: dict):
    try:
        consume_one(service, consumer, one, event)
    except Exception as exc:
        return exc
    return None


def one_by_one(one: Handler) -> BatchHandler:
    def many(service, events: list[dict]) -> None:
        for event in events:
            one(service, event)

    return many


def subscribe(
    service: type,
    table: Mapping[tuple[str, str], Handler],
    name=default_name,
    batch: Mapping[Handler, BatchHandler] | None = None,
) -> None:
    """Give `service` one batching entrypoint per line of `table`, (source, event_type) → handler, named
    `name(source, event_type)`; `batch` maps a handler to its batch form. The name is the consumer's: its
    processed-event key, metrics and alerts carry it, so it must not change once deployed."""
    batch = batch or {}
    for (source, event_type), handler in table.items():
        method_name = name(source, event_type)
        many = batch.get(handler) or one_by_one(handler)
        setattr(service, method_name, _entrypoint(source, event_type, handler, many, method_name))


def _entrypoint(source: str, event_type: str, one: Handler, many: BatchHandler, method_name: str):
    def handle(self, events):
        """A batch from the broker (a list), or one envelope (a dict) when called directly."""
        consumer = f"{self.name}.{method_name}"
        if isinstance(events, Mapping):
            return consume_one(self, consumer, one, events)
        return consume_batch(self, consumer, one, many, events)

    handle.__name__ = handle.__qualname__ = method_name
    handle.__doc__ = one.__doc__
    return BatchingEventHandler.decorator(source, event_type)(handle)
