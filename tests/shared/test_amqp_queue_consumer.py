"""An ack or requeue on a connection the broker has dropped is let go (the broker redelivers the message),
instead of escaping the worker and killing the whole service as nameko's own consumer does."""

import socket

import pytest
from kombu import Connection, Exchange, Queue
from nameko.messaging import QueueConsumer

from shared.platform.amqp_queue_consumer import BrokerTolerantQueueConsumer


def a_message_on_a_dropped_connection(amqp_uri: str):
    connection = Connection(amqp_uri)
    queue = Queue("tolerant-test", exchange=Exchange("tolerant-test"), routing_key="k")(connection.channel())
    queue.declare()
    connection.Producer().publish({"n": 1}, exchange="tolerant-test", routing_key="k")
    message = None
    while message is None:
        message = queue.get(no_ack=False)
    connection.connection.transport.sock.shutdown(socket.SHUT_RDWR)  # the broker is gone under the worker
    return connection, message


@pytest.mark.parametrize("settle", ["ack_message", "requeue_message"])
def test_settling_on_a_dropped_connection_is_let_go(rabbit_config, settle):
    connection, message = a_message_on_a_dropped_connection(rabbit_config["AMQP_URI"])
    with pytest.raises(OSError):
        getattr(QueueConsumer(), settle)(message)  # what killed the container before
    connection.collect()
    connection, message = a_message_on_a_dropped_connection(rabbit_config["AMQP_URI"])
    getattr(BrokerTolerantQueueConsumer(), settle)(message)
    connection.collect()
