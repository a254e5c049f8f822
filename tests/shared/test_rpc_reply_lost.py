"""A request whose reply cannot be published runs again instead of staying held.

The worker's reply goes out on a pooled publisher connection, not on the connection the request came in
on. When only the publisher's connection fails (on a cluster: the node it was on is killed while the
consumer's node lives), the request used to stay unacknowledged on the live consumer for good, and its
caller never heard. Here the caller talks to the broker on a connection of its own (outside the service
process's pool), so the service holds no publisher connection when its first reply is due; the vhost then
refuses every new connection, so that reply cannot go while the request's own consumer is untouched.
"""

import json
import uuid

import pytest
from eventlet.event import Event
from kombu import Connection, Exchange, Queue

from tests.shared.sample_services import ATTEMPTS, GATES, SamplerService
from tests.support.waiting import wait_for

RPC_EXCHANGE = Exchange("nameko-rpc", type="topic", durable=True)


@pytest.fixture
def gate():
    GATES["lost-reply"] = Event()
    ATTEMPTS.pop("lost-reply", None)
    yield GATES["lost-reply"]
    GATES.pop("lost-reply", None)


@pytest.fixture
def refuse_new_connections(rabbit_manager, rabbit_config):
    vhost = rabbit_config["vhost"]

    def refuse(refusing: bool):
        if refusing:
            rabbit_manager._put("vhost-limits", vhost, "max-connections", json={"value": 0})
        else:
            rabbit_manager._delete("vhost-limits", vhost, "max-connections")

    yield refuse
    refuse(False)


def test_a_reply_that_cannot_be_published_puts_the_request_back_to_run_again(
    container_factory, service_config, sqlite_url, rabbit_config, rabbit_manager, gate, refuse_new_connections
):
    config = service_config(sqlite_url)
    container_factory(SamplerService, config).start()
    reply_key = str(uuid.uuid4())
    with Connection(config["AMQP_URI"]) as caller:
        replies = Queue(f"rpc.reply-test-{reply_key}", exchange=RPC_EXCHANGE, routing_key=reply_key)(caller.channel())
        replies.declare()
        caller.Producer().publish(
            json.dumps({"args": ["lost-reply"], "kwargs": {}}),
            exchange=RPC_EXCHANGE,
            routing_key="sampler.pass_gate",
            content_type="application/json",
            reply_to=reply_key,
            correlation_id=str(uuid.uuid4()),
        )
        wait_for(lambda: ATTEMPTS["lost-reply"] == 1, timeout=10, what="the request reached the worker")
        refuse_new_connections(True)
        gate.send(True)
        # before the fix the count stayed at 1 and the request stayed unacknowledged on the consumer
        wait_for(lambda: ATTEMPTS["lost-reply"] >= 2, timeout=30, what="the request ran again")
        refuse_new_connections(False)
        answer = wait_for(lambda: replies.get(no_ack=True), timeout=30, what="the caller's answer")
    assert json.loads(answer.body)["result"] >= 2  # heard, from a run after the reply was lost
    queue = lambda: rabbit_manager.get_queue(rabbit_config["vhost"], "rpc-sampler")  # noqa: E731
    wait_for(lambda: queue().get("messages_unacknowledged") == 0 and queue().get("messages") == 0, timeout=30,
             what="nothing held or queued")  # fmt: skip
