"""Confirmed batch publishing against a real broker: everything confirmed arrives, and a lost connection
fails the batch loudly and is replaced on the next one."""

import json

import pytest
from kombu import Connection, Exchange, Queue

from shared.platform.publishing import ConfirmedBatchPublisher, OutgoingMessage, PublishFailed

EXCHANGE = Exchange("batch.events", type="topic", durable=True)
QUEUE = Queue("batch-test", exchange=EXCHANGE, routing_key="thing_done", durable=True)


def messages(count, start=0):
    return [
        OutgoingMessage(json.dumps({"n": n}), "batch.events", "thing_done", f"m-{n}")
        for n in range(start, start + count)
    ]


def drain(amqp_uri):
    with Connection(amqp_uri) as connection:
        queue = QUEUE(connection.channel())
        received = []
        while (message := queue.get(no_ack=True)) is not None:
            received.append((json.loads(message.body)["n"], message.properties["message_id"], message.content_type))
        return received


def test_a_confirmed_batch_arrives_whole_and_in_order(rabbit_config):
    publisher = ConfirmedBatchPublisher(rabbit_config["AMQP_URI"], [EXCHANGE, QUEUE])
    publisher.publish(messages(500))
    publisher.publish(messages(10, start=500))
    assert publisher.acked == publisher.last_tag == 510
    received = drain(rabbit_config["AMQP_URI"])
    assert [n for n, _, _ in received] == list(range(510))
    assert received[0][1:] == ("m-0", "application/json")
    publisher.close()


def test_a_lost_connection_fails_the_batch_then_reconnects(rabbit_config):
    publisher = ConfirmedBatchPublisher(rabbit_config["AMQP_URI"], [EXCHANGE, QUEUE])
    publisher.publish(messages(3))
    publisher.connection.collect()  # the socket is gone, as after a broker restart
    with pytest.raises(PublishFailed):
        publisher.publish(messages(3, start=3))
    publisher.publish(messages(3, start=6))
    assert [n for n, _, _ in drain(rabbit_config["AMQP_URI"])] == [0, 1, 2, 6, 7, 8]
    publisher.close()


def test_an_unreachable_broker_is_a_publish_failure(rabbit_config):
    publisher = ConfirmedBatchPublisher("pyamqp://guest:guest@127.0.0.1:1//", [EXCHANGE])
    with pytest.raises(PublishFailed):
        publisher.publish(messages(1))
