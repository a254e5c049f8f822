"""One broker identity per service: what stats' credentials may not do, tried on the real broker in a
throw-away vhost with throw-away users (both removed afterwards), and that every name a service declares
at start-up is one its permissions cover."""

import logging
import threading
import uuid

import pytest
from amqp.exceptions import AccessRefused
from kombu import Connection, Exchange, Producer

from ops.sandbox import SharedBroker
from shared.platform.broker_access import OPS, TOPOLOGY, amqp_uri_variable, permissions
from shared.platform.clock import utcnow
from shared.platform.config import SERVICES
from shared.platform.contracts import load_all
from shared.platform.topology import (
    await_exchange,
    consumer_declarations,
    consumer_queue,
    consumer_queue_name,
    declare_all,
    event_exchange,
    publisher_declarations,
    rpc_queue,
)
from tests.support.waiting import wait_for

CONFIG = {"EVENT_RETRY_DELAYS_MS": [200, 500]}
APPROVED_FOR_NOTIFY = consumer_queue_name("housing", "subsidy_approved", "notify")


@pytest.fixture(scope="module")
def broker():
    shared = SharedBroker()
    vhost = f"nc_acl_{uuid.uuid4().hex[:10]}"
    shared.create_vhost(vhost)
    try:
        uris = shared.create_users(vhost)
        try:
            declare_all(uris[amqp_uri_variable(TOPOLOGY)], CONFIG, SERVICES)  # as the topology step does
            yield {"guest": shared.uri(vhost), **{identity: uris[amqp_uri_variable(identity)] for identity in
                                                  (*SERVICES, OPS, TOPOLOGY)}}  # fmt: skip
        finally:
            shared.delete_users(vhost)
    finally:
        shared.delete_vhost(vhost)


def depth(uri: str, queue: str) -> int:
    with Connection(uri) as connection:
        _, count, _ = connection.channel().queue_declare(queue, passive=True)
        return count


def publish_confirmed(uri: str, exchange: str, routing_key: str, body: dict) -> None:
    with Connection(uri, transport_options={"confirm_publish": True}) as connection:
        producer = Producer(connection.channel())
        producer.publish(body, exchange=Exchange(exchange, no_declare=True), routing_key=routing_key, retry=False)


def test_stats_cannot_publish_on_housing_events(broker):
    with pytest.raises(AccessRefused, match="housing.events"):
        publish_confirmed(broker["stats"], "housing.events", "subsidy_approved", {"forged": True})
    assert depth(broker["guest"], APPROVED_FOR_NOTIFY) == 0
    # the same publish with housing's own credentials goes through: the refusal is the user, not the message
    publish_confirmed(broker["housing"], "housing.events", "subsidy_approved", {"genuine": True})
    assert depth(broker["guest"], APPROVED_FOR_NOTIFY) == 1


def test_stats_cannot_consume_or_get_housing_rpc_requests(broker):
    with Connection(broker["stats"]) as connection:
        with pytest.raises(AccessRefused, match="rpc-housing"):
            connection.channel().basic_consume("rpc-housing", callback=lambda message: None)
        with pytest.raises(AccessRefused, match="rpc-housing"):
            connection.channel().basic_get("rpc-housing")
        assert connection.channel().basic_get("rpc-stats") is None  # its own request queue it may read


@pytest.mark.parametrize("owner", [service for service in SERVICES if service != "stats"])
def test_stats_cannot_read_another_services_dead_letters(broker, owner):
    with Connection(broker["stats"]) as connection:
        with pytest.raises(AccessRefused, match=f"{owner}.dlq"):
            connection.channel().basic_get(f"{owner}.dlq")
    with Connection(broker[OPS]) as connection:  # ops, which lists and replays them, may
        assert connection.channel().basic_get(f"{owner}.dlq") is None


def test_stats_cannot_read_delete_or_rebind_another_consumers_queue(broker):
    with Connection(broker["stats"]) as connection:
        with pytest.raises(AccessRefused):
            connection.channel().basic_get(APPROVED_FOR_NOTIFY)
        with pytest.raises(AccessRefused):
            connection.channel().queue_delete(APPROVED_FOR_NOTIFY)
        with pytest.raises(AccessRefused):  # copying notify's feed of housing events into a queue of its own
            connection.channel().queue_declare(f"stolen-{uuid.uuid4().hex[:6]}")


def test_ops_cannot_publish_events(broker):
    with pytest.raises(AccessRefused, match="housing.events"):
        publish_confirmed(broker[OPS], "housing.events", "subsidy_approved", {"forged": True})


def test_every_name_a_service_declares_at_start_up_is_in_its_configure_permission():
    granted = permissions()
    load_all()
    for service in SERVICES:
        declared = publisher_declarations(service, CONFIG) + consumer_declarations(service, CONFIG)
        declared += [rpc_queue(service, CONFIG, declares_exchange=False)]
        declared += [consumer_queue(c.source, c.event_type, service, CONFIG, declares_exchange=False)
                     for c in load_all().consumed_by(service)]  # fmt: skip
        names = {entity.name for entity in declared if entity.name}
        exchanges = [getattr(entity, "exchange", None) for entity in declared]
        names |= {exchange.name for exchange in exchanges if exchange and exchange.name and not exchange.no_declare}
        refused = sorted(name for name in names if not granted[service].allows("configure", name))
        assert not refused, f"{service} declares {refused} at start-up without configure permission"
        others = set(SERVICES) - {service}
        assert not any(granted[service].allows("write", event_exchange(other).name) for other in others)


def test_ops_lists_and_replays_dead_letters_with_its_own_user(broker):
    from ops import dlq
    from tests.support.broker import publish_to_queue

    headers = {"x-original-queue": "rpc-stats", "x-dead-lettered-at": utcnow().isoformat()}
    publish_to_queue(broker["guest"], "stats.dlq", {"n": 1}, headers=headers)
    assert dlq.depths(broker[OPS], SERVICES)["stats"] == 1
    assert [letter.original_queue for letter in dlq.list_dead_letters(broker[OPS], "stats")] == ["rpc-stats"]
    assert dlq.replay(broker[OPS], "stats").replayed == 1
    assert depth(broker["guest"], "rpc-stats") == 1 and depth(broker["guest"], "stats.dlq") == 0


def test_stats_may_answer_rpc_but_not_call_it(broker):
    """On nameko-rpc a service publishes replies only: a request to housing in stats' name is refused."""
    with pytest.raises(AccessRefused, match="housing.submit_subsidy_application"):
        publish_confirmed(broker["stats"], "nameko-rpc", "housing.submit_subsidy_application", {"args": []})
    assert depth(broker["guest"], "rpc-housing") == 0
    publish_confirmed(broker["stats"], "nameko-rpc", str(uuid.uuid4()), {"result": None})  # a reply goes
    publish_confirmed(broker[OPS], "nameko-rpc", "housing.health", {"args": [], "kwargs": {}})  # ops may call
    assert depth(broker["guest"], "rpc-housing") == 1


def test_stats_cannot_bind_its_queue_to_more_of_housings_events_than_it_consumes(broker):
    queue = consumer_queue_name("housing", "subsidy_approved", "stats")
    with Connection(broker["stats"]) as connection:
        with pytest.raises(AccessRefused, match="'#'"):
            connection.channel().queue_bind(queue, "housing.events", "#")
        with pytest.raises(AccessRefused, match="contact_provided"):  # notify's alone: it carries the phone
            connection.channel().queue_bind(queue, "housing.events", "contact_provided")
        connection.channel().queue_bind(queue, "housing.events", "subsidy_approved")  # its own binding


@pytest.mark.parametrize("exchange", ["housing.events", "nameko-rpc"])
def test_stats_cannot_delete_an_exchange_it_consumes_from(broker, exchange):
    """Consumers bind to their sources' exchanges without declaring them, so they hold no configure
    permission on them, and configure is what deleting needs."""
    with Connection(broker["stats"]) as connection:
        with pytest.raises(AccessRefused, match=exchange):
            connection.channel().exchange_delete(exchange)
        with pytest.raises(AccessRefused, match=exchange):  # nor redeclare it, with other arguments or not
            connection.channel().exchange_declare(exchange, "topic", durable=True)
        connection.channel().exchange_declare(exchange, "topic", passive=True)  # it is still there
    assert not permissions()["stats"].allows("configure", exchange)


def test_no_service_may_configure_another_services_exchange_or_nameko_rpc():
    granted = permissions()
    for service in SERVICES:
        others = [event_exchange(other).name for other in SERVICES if other != service]
        assert not [name for name in [*others, "nameko-rpc"] if granted[service].allows("configure", name)]


def test_a_consumer_waits_for_its_missing_source_exchange_until_the_topology_step_declares_it(broker, caplog):
    """With its own user a consumer may not declare housing.events: it waits, logging, and goes on once the
    topology step has declared it."""
    with Connection(broker["guest"]) as connection:
        connection.channel().exchange_delete("housing.events")
    config = {"AMQP_URI": broker["stats"]}
    waiter = threading.Thread(target=await_exchange, args=(config, event_exchange("housing", no_declare=True)))
    try:
        with caplog.at_level(logging.WARNING, logger="shared.platform.topology"):
            waiter.start()
            assert wait_for(lambda: "exchange housing.events does not exist yet" in caplog.text)
            assert waiter.is_alive()
    finally:
        declare_all(broker[TOPOLOGY], CONFIG, SERVICES)  # puts back what the other tests need, too
    waiter.join(timeout=30)
    assert not waiter.is_alive()


def test_a_consumer_whose_user_may_declares_its_missing_source_exchange(broker):
    """The suite's administrator (or a single-user local set-up) may: services start in any order there."""
    exchange = Exchange(f"probe-{uuid.uuid4().hex[:8]}.events", "topic", durable=False, auto_delete=True,
                        no_declare=True)  # fmt: skip
    await_exchange({"AMQP_URI": broker["guest"]}, exchange)
    with Connection(broker["guest"]) as connection:
        connection.channel().exchange_declare(exchange.name, "topic", passive=True)
