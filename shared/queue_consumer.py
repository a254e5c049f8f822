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

log = logging.getLogger(__name__)

# socket errors (reset, broken pipe), closed connections or channels, and kombu's wrapper of both when
# its retries to reconnect ran out
BROKER_GONE = (OSError, AMQPError, OperationalError)


class BrokerTolerantQueueConsumer(QueueConsumer):
    """Also remembers the connection it consumes on, so readiness can read its state without opening one."""

    consuming_on = None  # the kombu Connection of the current consume loop, None until the first one

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
    `undecodable(message, exc)` instead."""

    def get_consumers(self, consumer_cls, channel):
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            consumer.on_decode_error = provider.undecodable
        return consumers


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
