"""A request whose reply cannot be published runs again instead of staying held.

The worker's reply goes out on a pooled publisher connection, not on the connection the request came in
on. When only the publisher's connection fails (on a cluster: the node it was on is killed while the
consumer's node lives), the request used to stay unacknowledged on the live consumer for good, and its
caller never heard. Here the broker refuses every new connection to the vhost and the service's publisher
connections are closed, so the reply cannot go while the request's own consumer is untouched.
"""

import pytest
from eventlet.event import Event
from nameko.standalone.rpc import ServiceRpcProxy

from tests.shared.sample_services import ATTEMPTS, GATES, SamplerService
from tests.support.waiting import wait_for


def publisher_connections(rabbit_manager, vhost) -> list[str]:
    """Connections of the vhost with no consumer on them: the pooled publishers'."""
    consuming = {consumer["channel_details"]["connection_name"] for consumer in rabbit_manager._get("consumers", vhost)}
    return [c["name"] for c in rabbit_manager.get_connections() if c["vhost"] == vhost and c["name"] not in consuming]


@pytest.fixture
def gate():
    GATES["lost-reply"] = Event()
    ATTEMPTS.pop("lost-reply", None)
    yield GATES["lost-reply"]
    GATES.pop("lost-reply", None)


def test_a_reply_that_cannot_be_published_puts_the_request_back_to_run_again(
    container_factory, service_config, sqlite_url, rabbit_config, rabbit_manager, gate
):
    vhost = rabbit_config["vhost"]
    config = service_config(sqlite_url)
    container_factory(SamplerService, config).start()
    with ServiceRpcProxy("sampler", config, timeout=60) as sampler:
        answer = sampler.pass_gate.call_async("lost-reply")
        wait_for(lambda: ATTEMPTS["lost-reply"] == 1, timeout=10, what="the request reached the worker")
        rabbit_manager._put("vhost-limits", vhost, "max-connections", json={"value": 0})
        try:
            wait_for(lambda: publisher_connections(rabbit_manager, vhost), timeout=10, what="publisher connections")
            for name in publisher_connections(rabbit_manager, vhost):
                rabbit_manager.delete_connection(name)
            gate.send(True)
            # before the fix the count stayed at 1 and the request stayed unacknowledged on the consumer
            wait_for(lambda: ATTEMPTS["lost-reply"] >= 2, timeout=30, what="the request ran again")
        finally:
            rabbit_manager._delete("vhost-limits", vhost, "max-connections")
        assert answer.result() >= 2  # the caller hears, from a run after the reply was lost
    queue = lambda: rabbit_manager.get_queue(vhost, "rpc-sampler")  # noqa: E731
    wait_for(lambda: queue().get("messages_unacknowledged") == 0 and queue().get("messages") == 0, timeout=30,
             what="nothing held or queued")  # fmt: skip
