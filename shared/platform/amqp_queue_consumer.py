"""nameko's queue consumer, made to survive the broker going away under a running worker, and a message
it cannot decode.

A worker that finishes while the broker is down (restarting, or every connection just closed) acks its
message on a connection that no longer exists. nameko lets that exception escape the worker thread,
which kills the container: the whole service process stops, and nothing restarts it. Found by the fault
suite's `rabbitmqctl stop_app` (stats died mid-stream).

An unacked message is redelivered once the consumer has reconnected, and every consumer here is built
for that (event handlers are idempotent on `event_id`; an RPC request runs again, as after any lost
reply). So an ack or requeue the broker can no longer receive is logged and let go.
"""

from __future__ import annotations

import logging

from amqp.exceptions import AMQPError
from kombu.exceptions import OperationalError
from nameko.messaging import QueueConsumer

from shared.platform.topology import redeclare_missing

log = logging.getLogger(__name__)

# socket errors (reset, broken pipe), closed connections or channels, and kombu's wrapper of both when
# its retries to reconnect ran out
BROKER_GONE = (OSError, AMQPError, OperationalError)

# The consume loop sees kill() and stop() only between drains, and kombu drains for `safety_interval`
# (1 s by default) at a time: every shutdown, a rollout's or a test's, waited up to that long per consumer.
SHUTDOWN_POLL_SECONDS = 0.1


class BrokerTolerantQueueConsumer(QueueConsumer):
    """Also remembers the connection it consumes on, so readiness can read its state without opening one."""

    consuming_on = None  # the kombu Connection of the current consume loop, None until the first one

    def consume(self, *args, **kwargs):
        kwargs.setdefault("safety_interval", SHUTDOWN_POLL_SECONDS)
        return super().consume(*args, **kwargs)

    def on_consume_ready(self, connection, channel, consumers, **kwargs):
        self.consuming_on = connection
        super().on_consume_ready(connection, channel, consumers, **kwargs)

    def on_connection_error(self, exc, interval):
        self.consuming_on = None
        super().on_connection_error(exc, interval)

    @property
    def broker_connected(self) -> bool:
        connection = self.consuming_on
        return connection is not None and connection.connected

    def ack_message(self, message):
        try:
            super().ack_message(message)
        except BROKER_GONE as exc:
            log.warning("ack lost with the broker connection (%s); the message is redelivered", type(exc).__name__)

    def requeue_message(self, message):
        try:
            super().requeue_message(message)
        except BROKER_GONE as exc:
            log.warning("requeue lost with the broker connection (%s); it is redelivered", type(exc).__name__)


class UndecodableTolerantQueueConsumer(BrokerTolerantQueueConsumer):
    """kombu raises out of its consumer loop on a body it cannot decode (not JSON, or a content type it does
    not accept, such as pickle), which kills the service; such a message goes to its provider's
    `undecodable(message, exc)` instead.

    It also keeps, per channel, the delivery tags it handed out and has not yet settled, so a batch
    (`shared.platform.batch_consumer`) can be acked with one `multiple` ack when that settles nothing else: every
    consumer of a service shares this channel, and a multiple ack covers every tag up to the one named."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._reconnecting = False
        self.unsettled: dict = {}  # channel -> delivery tags handed to a provider, not acked nor requeued

    @property
    def prefetch_count(self):
        # kombu sends every consumer's basic.qos before any basic.consume, so the last one holds for all
        # of them: the largest batch any provider gathers, or the worker count if that is larger
        return max([self.container.max_workers, *(getattr(p, "batch_size", 0) for p in self._providers)])

    def on_consume_ready(self, connection, channel, consumers, **kwargs):
        self.unsettled = {}  # the tags of an earlier channel settle nothing on this one
        super().on_consume_ready(connection, channel, consumers, **kwargs)

    def get_consumers(self, consumer_cls, channel):
        if self._reconnecting:  # the first time, each provider's setup has waited for its exchange
            redeclare_missing(channel, [provider.queue.exchange for provider in self._providers])
        self._reconnecting = True
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            consumer.on_decode_error = self._tracked(provider.undecodable)
        return consumers

    def _tracked(self, undecodable):
        def on_decode_error(message, exc):
            self._handed_out(message)
            return undecodable(message, exc)

        return on_decode_error

    def _handed_out(self, message) -> None:
        self.unsettled.setdefault(message.channel, set()).add(message.delivery_tag)

    def _settled(self, message) -> None:
        self.unsettled.get(message.channel, set()).discard(message.delivery_tag)

    def handle_message(self, provider, body, message):
        self._handed_out(message)
        super().handle_message(provider, body, message)

    def ack_message(self, message):
        self._settled(message)
        super().ack_message(message)

    def requeue_message(self, message):
        self._settled(message)
        super().requeue_message(message)

    def ack_messages(self, messages: list) -> None:
        """Ack a batch: one multiple ack when the batch is every unsettled tag up to its last one on its
        channel, else one ack each."""
        if len(messages) < 2:
            for message in messages:
                self.ack_message(message)
            return
        last = max(messages, key=lambda m: m.delivery_tag)
        channel = last.channel
        tags = {m.delivery_tag for m in messages}
        pending = self.unsettled.get(channel, set())
        if any(m.channel is not channel for m in messages) or {t for t in pending if t <= last.delivery_tag} != tags:
            for message in messages:
                self.ack_message(message)
            return
        pending -= tags
        if not channel.connection:
            return  # the broker took them back with the connection: they are redelivered
        try:
            last.ack(multiple=True)
        except BROKER_GONE as exc:
            log.warning("batch ack lost with the broker connection (%s); it is redelivered", type(exc).__name__)


class RpcQueueConsumer(UndecodableTolerantQueueConsumer):
    """The RPC entrypoints' own broker connection, apart from the event handlers' (nameko shares an
    extension per class). A request body over its provider's `max_body_bytes` goes to `oversized(message)`
    before it is decoded: anyone who may publish to the RPC exchange could otherwise make the service parse
    JSON as large as the broker lets through."""

    def get_consumers(self, consumer_cls, channel):
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            consumer.on_message = self._size_checked(provider, consumer)
        return consumers

    @staticmethod
    def _size_checked(provider, consumer):
        # kombu calls `on_message` with the message undecoded, in place of decoding it for `callbacks`
        def on_message(message):
            if len(message.body) > provider.max_body_bytes:
                return provider.oversized(message)
            try:
                decoded = message.decode()
            except Exception as exc:
                return provider.undecodable(message, exc)
            return consumer.receive(decoded, message)

        return on_message
