"""Read and replay each service's dead-letter queue (`<service>.dlq`).

The consumer dead-letters a message byte for byte with headers saying why (`x-dead-letter-reason`),
where it came from (`x-original-queue`) and how many attempts it had. Replay re-publishes the raw body
to the original queue through the default exchange, with publisher confirms and `mandatory`, and acks
the dead-lettered copy only after the broker confirmed the new one: a crash in between leaves a
duplicate, never a loss, and the consumers' idempotency on `event_id` absorbs the duplicate.

That idempotency lasts only as long as the ledger keeps the event's row, so a dead letter older than the
replay window (`shared.platform.retention.dlq_replay_window`) is refused and left in the queue: its age is taken
from the earliest instant it carries (the envelope's `occurred_at`, RabbitMQ's `x-death` times, our
`x-dead-lettered-at`), since no delivery of the event can have been recorded before it occurred.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from amqp.exceptions import ChannelError, MessageNacked, NotFound
from kombu import Connection, Producer

from shared.platform.clock import utcnow
from shared.platform.event_consumer import ATTEMPTS_HEADER
from shared.platform.retention import dlq_replay_window
from shared.platform.topology import dead_letter_queue_name

# headers the consumer adds when it dead-letters; a replayed message starts again without them
DEAD_LETTER_HEADERS = (
    "x-dead-letter-reason",
    "x-original-exchange",
    "x-original-routing-key",
    "x-original-queue",
    "x-consumer",
    "x-dead-lettered-at",
    ATTEMPTS_HEADER,
)
REPLAY_COUNT_HEADER = "x-newcitizen-replays"
PERSISTENT = 2


@dataclass
class DeadLetter:
    service: str
    position: int
    headers: dict
    body: bytes
    content_type: str | None = None
    content_encoding: str | None = None
    properties: dict = field(default_factory=dict)

    @property
    def reason(self) -> str:
        return str(self.headers.get("x-dead-letter-reason", ""))

    @property
    def original_queue(self) -> str | None:
        return self.headers.get("x-original-queue") or None

    def _decoded(self) -> dict:
        try:
            decoded = json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return {}
        return decoded if isinstance(decoded, dict) else {}  # a poison body may be anything

    @property
    def envelope(self) -> dict:
        """The event envelope's identifying fields, when the body is one."""
        decoded = self._decoded()
        return {key: decoded.get(key) for key in ("event_id", "source", "event_type") if key in decoded}

    @property
    def earliest(self) -> datetime | None:
        """The earliest instant the message carries, or None when it carries none that can be read."""
        deaths = self.headers.get("x-death") or []
        candidates = [self._decoded().get("occurred_at"), self.headers.get("x-dead-lettered-at")]
        candidates += [death.get("time") for death in deaths if isinstance(death, dict)]
        instants = [instant for instant in map(_instant, candidates) if instant is not None]
        return min(instants, default=None)

    def summary(self) -> dict:
        return {
            "service": self.service,
            "queue": dead_letter_queue_name(self.service),
            "position": self.position,
            "original_queue": self.original_queue,
            "reason": self.reason,
            "attempts": self.headers.get(ATTEMPTS_HEADER),
            "consumer": self.headers.get("x-consumer"),
            "dead_lettered_at": self.headers.get("x-dead-lettered-at"),
            "bytes": len(self.body),
            **self.envelope,
        }


@dataclass
class ReplayResult:
    replayed: int = 0
    kept: list[tuple[DeadLetter, str]] = field(default_factory=list)  # could not be replayed, and why
    passed_over: int = 0  # not from the queue asked for; left as they were


def _instant(value) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value  # AMQP timestamps are UTC


def too_old(letter: DeadLetter, window: timedelta, now: datetime) -> str | None:
    """Why `letter` must not be replayed now, or None."""
    earliest = letter.earliest
    if earliest is None:
        return "age unknown (no occurred_at, x-death or x-dead-lettered-at): replay could apply it twice"
    if now - earliest > window:
        return (
            f"too old to replay: from {earliest.isoformat()}, beyond the {window.days}-day replay window "
            "(the ledger may have forgotten it; replay could apply it twice)"
        )
    return None


def _to_dead_letter(service: str, position: int, message) -> DeadLetter:
    body = message.body if isinstance(message.body, bytes) else str(message.body).encode("utf-8", "surrogatepass")
    return DeadLetter(
        service=service,
        position=position,
        headers=dict(message.headers or {}),
        body=body,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        properties=dict(message.properties or {}),
    )


def queue_depth(connection: Connection, queue: str) -> int | None:
    """Messages ready in a queue, or None when the queue does not exist (the service never declared it)."""
    channel = connection.channel()
    try:
        _, count, _ = channel.queue_declare(queue=queue, passive=True)
        return count
    except NotFound:
        return None
    finally:
        _close_quietly(channel)


def depths(amqp_uri: str, services) -> dict[str, int | None]:
    with Connection(amqp_uri) as connection:
        return {service: queue_depth(connection, dead_letter_queue_name(service)) for service in services}


@contextmanager
def _held(connection: Connection) -> Iterator:
    """A channel whose unacknowledged messages go back to their queue, in order, when it closes."""
    channel = connection.channel()
    channel.auto_decode = False  # py-amqp would turn a utf-8 body into str; we keep the exact bytes
    try:
        yield channel
    finally:
        _close_quietly(channel)


def list_dead_letters(amqp_uri: str, service: str, limit: int = 100) -> list[DeadLetter]:
    """Browse without consuming: fetch unacked, then close the channel so every message is requeued.

    Each browse counts as a delivery. On a quorum DLQ with a delivery limit that matters: see
    docs/operations.md (the deployment sets the DLQs' delivery limit to unlimited).
    """
    queue = dead_letter_queue_name(service)
    with Connection(amqp_uri) as connection:
        available = queue_depth(connection, queue)
        if not available:
            return []
        letters = []
        with _held(connection) as channel:
            for position in range(1, min(available, limit) + 1):
                message = channel.basic_get(queue=queue, no_ack=False)
                if message is None:
                    break
                letters.append(_to_dead_letter(service, position, _KombuView(message)))
        return letters


def replay(
    amqp_uri: str,
    service: str,
    limit: int | None = None,
    original_queue: str | None = None,
    on_progress: Callable[[DeadLetter, bool], None] | None = None,
    window: timedelta | None = None,
) -> ReplayResult:
    """Move dead letters back to their original queues. Only messages present at the start are visited,
    so a message that fails again and returns to the DLQ while this runs is not replayed twice.
    `window` defaults to the one the default ledger period allows; the CLI passes the service's own."""
    queue = dead_letter_queue_name(service)
    window = dlq_replay_window({}) if window is None else window
    now = utcnow()
    result = ReplayResult()
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        available = queue_depth(connection, queue) or 0
        budget = available if limit is None else min(available, limit)
        publish_channel = connection.channel()
        producer = Producer(publish_channel)
        try:
            with _held(connection) as channel:
                for position in range(1, budget + 1):
                    raw = channel.basic_get(queue=queue, no_ack=False)
                    if raw is None:
                        break
                    letter = _to_dead_letter(service, position, _KombuView(raw))
                    if original_queue and letter.original_queue != original_queue:
                        result.passed_over += 1  # stays unacked: requeued on close
                        if on_progress:
                            on_progress(letter, False)
                        continue
                    problem = None if letter.original_queue else "no x-original-queue header"
                    problem = problem or too_old(letter, window, now)
                    if problem is None:
                        try:
                            _publish(producer, letter)
                        except (ChannelError, MessageNacked, OSError) as exc:
                            problem = f"publish not confirmed: {type(exc).__name__}: {exc}"
                            _close_quietly(publish_channel)
                            publish_channel = connection.channel()
                            producer = Producer(publish_channel)
                    if problem is None:
                        channel.basic_ack(raw.delivery_tag)  # only after the broker confirmed the copy
                        result.replayed += 1
                    else:
                        result.kept.append((letter, problem))  # stays unacked: requeued on close
                    if on_progress:
                        on_progress(letter, problem is None)
        finally:
            _close_quietly(publish_channel)
    return result


def _publish(producer: Producer, letter: DeadLetter) -> None:
    headers = {key: value for key, value in letter.headers.items() if key not in DEAD_LETTER_HEADERS}
    headers[REPLAY_COUNT_HEADER] = int(letter.headers.get(REPLAY_COUNT_HEADER, 0)) + 1
    properties = {
        key: letter.properties[key]
        for key in ("message_id", "correlation_id", "reply_to", "app_id", "type")
        if letter.properties.get(key)
    }
    producer.publish(
        letter.body,
        exchange="",
        routing_key=letter.original_queue,
        headers=headers,
        serializer=None,
        content_type=letter.content_type or "application/octet-stream",
        content_encoding=letter.content_encoding or "binary",
        delivery_mode=PERSISTENT,
        mandatory=True,  # a queue that no longer exists raises NO_ROUTE instead of dropping the message
        retry=False,
        **properties,
    )


class _KombuView:
    """The parts of a py-amqp basic_get message the DLQ code needs, named as kombu names them."""

    def __init__(self, message):
        self.body = message.body
        self.properties = {
            key: value for key, value in (message.properties or {}).items() if key != "application_headers"
        }
        self.headers = (message.properties or {}).get("application_headers") or {}
        self.content_type = self.properties.get("content_type")
        self.content_encoding = self.properties.get("content_encoding")


def _close_quietly(channel) -> None:
    with suppress(Exception):  # a channel the broker already closed (e.g. after NOT_FOUND) needs no closing
        channel.close()
