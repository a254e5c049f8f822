"""Copying a message the service cannot use to `<service>.dlq`, byte for byte, with the reason and where it
came from. Used by the event consumers (`event_consumer.py`) and the RPC edge (`rpc.py`)."""

from __future__ import annotations

from shared.platform.clock import utcnow
from shared.platform.personal_data import mask_text

ATTEMPTS_HEADER = "x-newcitizen-attempts"
MAX_REASON_LENGTH = 1000


def dead_letter_headers(message, reason: str, queue: str, consumer: str, attempts: int = 0) -> dict:
    return {
        "x-dead-letter-reason": mask_text(reason)[:MAX_REASON_LENGTH],
        "x-original-exchange": message.delivery_info.get("exchange", ""),
        "x-original-routing-key": message.delivery_info.get("routing_key", ""),
        "x-original-queue": queue,
        "x-consumer": consumer,
        ATTEMPTS_HEADER: attempts,
        "x-dead-lettered-at": utcnow().isoformat(),
    }


def republish(publisher, message, exchange, routing_key: str, headers: dict, timestamp=None) -> None:
    """The raw body as it came (a poison message is kept for inspection), its headers with `headers` added.
    Its AMQP timestamp stays (a retried event's queue age counts from its first publish) unless `timestamp`
    is given: a dead letter's is the time it was dead-lettered, so the DLQ's head age says how long it waits."""
    merged = dict(message.headers or {})
    merged.update(headers)
    body, encoding = raw_body(message)
    publisher.publish(
        body,
        exchange=exchange,
        routing_key=routing_key,
        headers=merged,
        serializer=None,
        content_type=message.content_type or "application/octet-stream",
        content_encoding=encoding,
        timestamp=timestamp or (message.properties or {}).get("timestamp"),
    )


def raw_body(message) -> tuple[bytes, str]:
    """The body's bytes as they came, and their encoding label."""
    body, encoding = message.body, message.content_encoding or "binary"
    if isinstance(body, str):  # py-amqp decoded it: back to the bytes it came as
        try:
            body = body.encode(encoding)
        except (LookupError, UnicodeError):
            # a label that cannot encode ("binary" on a text body, found by the broker fuzz) made every
            # dead-letter attempt fail and requeue the message, for ever
            body, encoding = body.encode("utf-8", "surrogatepass"), "utf-8"
    return body, encoding
