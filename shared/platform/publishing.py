"""Publishing many events with publisher confirms, without a round trip per message.

kombu's `confirm_publish` waits for the broker's ack after every message (about 600 a second here). The
outbox relay publishes a batch on a channel in confirm mode and then waits once for the acks of the whole
batch (the broker acks cumulatively), which is the same guarantee: nothing is marked published until the
broker has taken responsibility for it. A nack, a timeout or a connection error fails the whole batch; the
caller leaves those rows unpublished and the next attempt sends them again (consumers are idempotent).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field

from eventlet.semaphore import Semaphore
from kombu import Connection

from shared.platform.clock import wall_timestamp

CONFIRM_TIMEOUT_SECONDS = 30


class PublishFailed(Exception):
    pass


@dataclass(frozen=True)
class OutgoingMessage:
    body: str  # JSON text, as nameko's event handlers expect it
    exchange: str
    routing_key: str
    message_id: str
    headers: dict = field(default_factory=dict)


class ConfirmedBatchPublisher:
    def __init__(self, amqp_uri: str, declarations: list, timeout: float = CONFIRM_TIMEOUT_SECONDS):
        self.amqp_uri = amqp_uri
        self.declarations = declarations
        self.timeout = timeout
        self.lock = Semaphore()  # the relay and the sweep share one channel, one batch at a time
        self.connection: Connection | None = None
        self.channel = None
        self.last_tag = 0  # delivery tags count up from 1 on each new channel
        self.acked = 0  # every tag up to this one is confirmed
        self.out_of_order: set[int] = set()  # single acks above `acked`
        self.nacked: set[int] = set()

    def publish(self, messages: list[OutgoingMessage]) -> None:
        """Returns once the broker has confirmed every message; raises PublishFailed otherwise."""
        if not messages:
            return
        with self.lock:
            try:
                self._publish(messages)
            except PublishFailed:
                self._reset()
                raise
            except Exception as exc:  # connection lost, channel closed: a new one next time
                self._reset()
                raise PublishFailed(f"{type(exc).__name__}: {exc}") from exc

    def _publish(self, messages: list[OutgoingMessage]) -> None:
        channel = self._ready_channel()
        first = self.last_tag + 1
        # the AMQP timestamp is what RabbitMQ reports as a queue's head message's
        # (rabbitmq_detailed_queue_head_message_timestamp): the age of the oldest event waiting in a queue
        sent_at = wall_timestamp()
        for message in messages:
            amqp_message = channel.prepare_message(
                message.body, 0, "application/json", "utf-8", message.headers,
                {"delivery_mode": 2, "message_id": message.message_id, "timestamp": sent_at})  # fmt: skip
            channel.basic_publish(amqp_message, exchange=message.exchange, routing_key=message.routing_key)
            self.last_tag += 1
        deadline = time.monotonic() + self.timeout
        while self.acked < self.last_tag and not self._nacked_since(first):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PublishFailed(f"no confirm within {self.timeout:.0f}s")
            self.connection.drain_events(timeout=remaining)
        if self._nacked_since(first):
            raise PublishFailed("the broker refused (nacked) part of the batch")

    def _nacked_since(self, first: int) -> bool:
        return any(tag >= first for tag in self.nacked)

    def _ready_channel(self):
        if self.channel is None:
            self.connection = Connection(self.amqp_uri)
            self.connection.ensure_connection(max_retries=1)
            channel = self.connection.channel()
            for entity in self.declarations:
                entity(channel).declare()  # a bound copy: the shared entity may be bound to a closed channel
            channel.confirm_select()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            self.channel, self.last_tag, self.acked = channel, 0, 0
            self.out_of_order, self.nacked = set(), set()
        return self.channel

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        if multiple:  # a cumulative ack confirms every tag up to it
            self.acked = max(self.acked, delivery_tag)
        else:
            self.out_of_order.add(delivery_tag)
        while self.acked + 1 in self.out_of_order:
            self.acked += 1
        self.out_of_order = {tag for tag in self.out_of_order if tag > self.acked}

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        self.nacked.add(delivery_tag)

    def _reset(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):  # already gone with the broker
                self.connection.release()
        self.connection, self.channel = None, None

    def close(self) -> None:
        with self.lock:
            self._reset()
