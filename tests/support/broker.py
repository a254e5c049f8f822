"""Talking to the test vhost directly, as an outside publisher or an operator would."""

import json

from kombu import Connection

from shared.platform.event_signing import SIGNATURE_HEADER, EventSigner, dev_signing_key
from shared.platform.topology import dead_letter_queue, event_exchange


def publish_raw(
    amqp_uri: str, source: str, routing_key: str, body, content_type="application/json", headers=None, sign=True
):
    """Onto `source`'s exchange as `source` would publish it: signed with its development key (`sign=False`
    for a message from someone without that key)."""
    payload = body if isinstance(body, bytes | str) else json.dumps(body)
    headers = {**signed_by(source, payload), **(headers or {})} if sign else dict(headers or {})
    with Connection(amqp_uri) as connection:
        producer = connection.Producer()
        producer.publish(
            payload,
            exchange=event_exchange(source),
            routing_key=routing_key,
            content_type=content_type,
            content_encoding="utf-8",
            headers=headers,
            delivery_mode=2,
            declare=[event_exchange(source)],
        )


def signed_by(source: str, payload: bytes | str) -> dict:
    """The headers that make `payload` an event of `source` (its development key, as outside production)."""
    return {SIGNATURE_HEADER: EventSigner(dev_signing_key(source)).sign(payload)}


def drain_dead_letters(amqp_uri: str, service: str, config: dict | None = None) -> list:
    """Every message now in `<service>.dlq`, as (headers, raw body); the queue is left empty."""
    messages = []
    with Connection(amqp_uri) as connection:
        queue = dead_letter_queue(service, config or {})(connection.channel())
        queue.declare()
        while (message := queue.get(no_ack=True)) is not None:
            messages.append((dict(message.headers or {}), message.body))
    return messages


def publish_to_queue(
    amqp_uri: str,
    queue_name: str,
    body,
    content_type="application/json",
    headers=None,
    content_encoding="utf-8",
    signed_as: str | None = None,
):
    """Straight onto one consumer's queue through the default exchange, as a poison message would be; signed
    as `signed_as` would sign it (a buggy publisher's poison), or unsigned (someone else's)."""
    payload = body if isinstance(body, bytes | str) else json.dumps(body)
    headers = {**signed_by(signed_as, payload), **(headers or {})} if signed_as else headers
    with Connection(amqp_uri) as connection:
        connection.Producer().publish(
            payload,
            exchange="",
            routing_key=queue_name,
            content_type=content_type,
            content_encoding=content_encoding,
            headers=headers or {},
            delivery_mode=2,
        )
