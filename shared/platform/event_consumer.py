"""Reliable, idempotent event consumers.

    @event_consumer("housing", "subsidy_approved")
    def on_subsidy_approved(self, event): ...   # event = validated envelope, event["data"] loaded

or, for a table of event kinds (how stats and notify consume), one batching entrypoint per line
(`shared.platform.batch_consumer.subscribe`, which keeps every guarantee below).

* The envelope and its data are validated against `shared.platform.contracts` before the handler runs; an
  invalid, undecodable or oversized message goes to `<service>.dlq` at once, with the reason.
* `(consumer, event_id)` is added to the worker's session before the handler runs, so it commits in
  the same transaction as the handler's effect; a duplicate delivery finds it and is skipped.
* Any other exception is transient: the message is re-published to a delay queue (TTL, then
  dead-lettered back to the work queue) and tried again; after the last delay it is dead-lettered.
* Except when the database is unreachable (stopped, restarting): that is no fault of the message, so it
  is not counted as an attempt; the message goes round the delay queues, backing off to the longest,
  until the database is back. Without this a database outage longer than the delays dead-lettered
  every event consumed meanwhile (found by the fault suite stopping stats' PostgreSQL).
* A message is acked only after its retry or dead-letter copy is confirmed by the broker. nameko's
  default (`requeue_on_error=False`) would ack a failed event away; this never does.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from nameko.amqp.publish import Publisher
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.events import SERVICE_POOL, EventHandler
from nameko.messaging import Consumer
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from shared.platform.amqp_queue_consumer import UndecodableTolerantQueueConsumer
from shared.platform.clock import wall_timestamp
from shared.platform.contracts import load_all, validate_envelope
from shared.platform.crashpoints import crash_point
from shared.platform.dead_letters import ATTEMPTS_HEADER, dead_letter_headers, raw_body, republish
from shared.platform.errors import PermanentError, ValidationError
from shared.platform.event_signing import EventVerifier, SignatureRejected
from shared.platform.metrics import EVENTS_CONSUMED, EVENTS_DEAD_LETTERED, EVENTS_RETRIED, consumer_series
from shared.platform.models import ProcessedEvent
from shared.platform.topology import (
    await_exchange,
    consumer_declarations,
    consumer_queue,
    dead_letter_queue_name,
    retry_delays,
    retry_exchange,
)

log = logging.getLogger(__name__)

OUTAGES_HEADER = "x-newcitizen-outages"  # retries because the database was unreachable (not attempts)
DEFAULT_MAX_BODY_BYTES = 256 * 1024


class ReliableEventHandler(EventHandler):
    queue_consumer = UndecodableTolerantQueueConsumer()

    def __init__(self, source_service: str, event_type: str, **kwargs):
        super().__init__(
            source_service,
            event_type,
            handler_type=SERVICE_POOL,
            reliable_delivery=True,
            requeue_on_error=False,
            **kwargs,
        )

    @property
    def consumer_name(self) -> str:
        return f"{self.container.service_name}.{self.method_name}"

    def setup(self):
        config = self.container.config
        service = self.container.service_name
        load_all()
        # bound, never declared: the source's exchange is the topology step's and its publisher's to declare
        self.queue = consumer_queue(self.source_service, self.event_type, service, config, declares_exchange=False)
        await_exchange(config, self.queue.exchange)
        self.delays = retry_delays(config)
        self.max_body = int(config.get("EVENT_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES))
        self._verifier: EventVerifier | None = None
        self.publisher = Publisher(
            config[AMQP_URI_CONFIG_KEY], use_confirms=True, declare=consumer_declarations(service, config)
        )
        consumer_series(service, self.consumer_name)
        Consumer.setup(self)  # EventHandler.setup would rebuild the queue with nameko's own name

    def verifier(self) -> EventVerifier:
        # made at first use: a production start without keys is refused, naming them, before this runs
        # (not a cached_property: nameko's extension discovery reads every attribute of the instance)
        if self._verifier is None:
            self._verifier = EventVerifier.from_config(self.container.config)
        return self._verifier

    def handle_message(self, body, message):
        envelope = self.checked(body, message)
        if envelope is not None:
            self.dispatch(envelope, message)

    def checked(self, body, message) -> dict | None:
        """The validated envelope, its data loaded; None when the message was dead-lettered instead."""
        if len(message.body or b"") > self.max_body:
            self.dead_letter(message, f"oversized: {len(message.body)} bytes > {self.max_body}")
            return None
        try:
            self.verifier().verify(raw_body(message)[0], message.headers, self.source_service)
        except SignatureRejected as exc:
            self.dead_letter(message, f"untrusted: {exc}")
            return None
        try:
            envelope, data = validate_envelope(body)
            if (envelope["source"], envelope["event_type"]) != (self.source_service, self.event_type):
                raise ValidationError(
                    {"event_type": [f"{envelope['source']}.{envelope['event_type']} arrived on {self.queue.name}"]}
                )
        except ValidationError as exc:
            self.dead_letter(message, f"invalid: {exc}")
            return None
        envelope["data"] = data
        return envelope

    def dispatch(self, envelope: dict, message) -> None:
        """One worker for this message (`shared.platform.batch_consumer` gathers several into one instead)."""
        super().handle_message(envelope, message)

    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        if exc_info is None:
            self.succeeded([message])
        else:
            self.failed(message, exc_info[1])
        return result, exc_info

    def succeeded(self, messages: list) -> None:
        EVENTS_CONSUMED.labels(self.container.service_name, self.consumer_name, "success").inc(len(messages))
        for message in messages:
            self.queue_consumer.ack_message(message)

    def failed(self, message, exc: BaseException) -> None:
        """Retry or dead-letter one message whose handler raised `exc`."""
        headers = message.headers or {}
        attempts = int(headers.get(ATTEMPTS_HEADER, 0)) + 1
        reason = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, (PermanentError, ValidationError)):
            self.dead_letter(message, f"permanent: {reason}", attempts=attempts)
        elif database_unavailable(exc):
            # not this message's fault, and not an attempt: it waits, backing off, until the database is back
            outages = int(headers.get(OUTAGES_HEADER, 0)) + 1
            delay = self.delays[min(outages, len(self.delays)) - 1]
            self.retry(message, delay, {ATTEMPTS_HEADER: attempts - 1, OUTAGES_HEADER: outages})
        elif attempts <= len(self.delays):
            self.retry(message, self.delays[attempts - 1], {ATTEMPTS_HEADER: attempts})
        else:
            self.dead_letter(message, f"exhausted {attempts} attempts: {reason}", attempts=attempts)

    def retry(self, message, delay: int, headers: dict):
        try:
            republish(
                self.publisher,
                message,
                exchange=retry_exchange(self.container.service_name, delay),
                routing_key=self.queue.name,
                headers=headers,
            )
        except Exception:
            log.exception("could not schedule a retry; requeueing instead")
            self.queue_consumer.requeue_message(message)
            return
        EVENTS_RETRIED.labels(self.container.service_name, self.consumer_name).inc()
        self.queue_consumer.ack_message(message)

    def dead_letter(self, message, reason: str, attempts: int = 0):
        service = self.container.service_name
        headers = dead_letter_headers(message, reason, self.queue.name, self.consumer_name, attempts)
        try:
            republish(self.publisher, message, "", dead_letter_queue_name(service), headers, wall_timestamp())
        except Exception:
            log.exception("could not dead-letter; requeueing instead")
            self.queue_consumer.requeue_message(message)
            return
        reason = headers["x-dead-letter-reason"]
        EVENTS_DEAD_LETTERED.labels(service, self.consumer_name, reason.split(":", 1)[0]).inc()
        log.warning("dead-lettered a message from %s: %s", self.queue.name, reason)
        self.queue_consumer.ack_message(message)

    def undecodable(self, message, exc):
        self.dead_letter(message, f"undecodable: {type(exc).__name__}", attempts=0)


def database_unavailable(exc: BaseException) -> bool:
    """The consumer's database could not be reached or dropped the connection (stopped, restarting,
    failing over): a handler on any message would fail the same way now."""
    # A dropped connection is flagged by the dialect. A refused one is an OperationalError from psycopg with
    # no SQLSTATE (no server answered: refused, timed out, no server that takes writes), or one in class 08
    # (connection) or 57P (shutting down, starting up). Not every OperationalError: SQLite reports
    # programming errors ("no such table") as one, and psycopg a statement timeout.
    if isinstance(exc, InterfaceError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
        return True
    if not isinstance(exc, OperationalError) or exc.orig is None or not hasattr(exc.orig, "sqlstate"):
        return False
    sqlstate = exc.orig.sqlstate
    return sqlstate is None or sqlstate.startswith(("08", "57P"))


Handler = Callable[[object, dict], object]  # (the service's worker instance, the validated envelope)


def event_consumer(source: str, event_type: str):
    """Decorate a service method as an idempotent, retried, dead-lettering handler of one event type."""

    def decorate(method):
        @functools.wraps(method)
        def handle(self, event: dict):
            return consume_one(self, f"{self.name}.{method.__name__}", method, event)

        return ReliableEventHandler.decorator(source, event_type)(handle)

    return decorate


def consume_one(service, consumer: str, method: Handler, event: dict):
    """Run `method(service, event)` once per event_id: its effect and the ledger row commit together."""
    session = service.db
    if session.get(ProcessedEvent, (consumer, event["event_id"])) is not None:
        EVENTS_CONSUMED.labels(service.name, consumer, "duplicate").inc()
        return None
    session.add(ProcessedEvent(consumer=consumer, event_id=event["event_id"]))
    try:
        result = method(service, event)
        crash_point(service.name, "consumer.before_commit")
        session.commit()
        crash_point(service.name, "consumer.after_commit")
    except IntegrityError:
        session.rollback()
        if session.get(ProcessedEvent, (consumer, event["event_id"])) is not None:
            EVENTS_CONSUMED.labels(service.name, consumer, "duplicate").inc()
            return None  # a concurrent delivery of the same event won the race
        raise
    except Exception:
        session.rollback()
        raise
    return result


def handler_name(source: str, event_type: str) -> str:
    return f"on_{source}_{event_type}"
