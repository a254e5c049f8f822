"""Every queue that matters has the platform's queue type, read back from the real broker's management API:
event, retry, dead-letter and RPC request queues as quorum queues where EVENT_QUEUE_TYPE says so (a quorum
queue runs on one node too), and an earlier install's classic queues moved to quorum with their messages."""

import pytest
from kombu import Connection, Queue
from nameko.standalone.rpc import ClusterRpcProxy

from shared.platform.config import SERVICES
from shared.platform.queue_migration import HOLDING_SUFFIX, QueueInUse, declare_or_migrate
from shared.platform.rpc import rpc
from shared.platform.topology import consumer_queue, declare_all, retry_queue, rpc_queue

QUORUM = {"EVENT_QUEUE_TYPE": "quorum", "EVENT_RETRY_DELAYS_MS": [200, 500]}


def queue_types(rabbit_manager, vhost: str) -> dict[str, str]:
    return {queue["name"]: queue["type"] for queue in rabbit_manager.get_queues(vhost)}


def put(uri: str, queue: str, count: int) -> None:
    with Connection(uri, transport_options={"confirm_publish": True}) as connection:
        producer = connection.Producer()
        for index in range(count):
            producer.publish({"n": index}, exchange="", routing_key=queue, headers={"x-test": index}, delivery_mode=2)


def take_all(uri: str, queue: Queue) -> list[tuple[dict, int]]:
    taken = []
    with Connection(uri) as connection:
        bound = queue(connection.channel())
        while (message := bound.get(no_ack=True)) is not None:
            taken.append((message.payload, message.headers["x-test"]))
    return taken


def test_every_platform_queue_is_a_quorum_queue_when_configured(rabbit_config, rabbit_manager):
    vhost = rabbit_config["vhost"]
    declare_all(rabbit_config["AMQP_URI"], QUORUM, SERVICES)
    queues = {queue["name"]: queue for queue in rabbit_manager.get_queues(vhost)}
    assert {f"rpc-{service}" for service in SERVICES} <= set(queues)
    assert {f"{service}.dlq" for service in SERVICES} | {"notify.retry.200", "stats.retry.500"} <= set(queues)
    assert any(name.startswith("evt-") for name in queues)
    assert {name: queue["arguments"].get("x-queue-type") for name, queue in queues.items()} == {
        name: "quorum" for name in queues
    }
    retry = queues["notify.retry.200"]["arguments"]
    assert retry["x-message-ttl"] == 200 and retry["x-dead-letter-exchange"] == ""
    assert (retry["x-dead-letter-strategy"], retry["x-overflow"]) == ("at-least-once", "reject-publish")


def test_one_node_default_stays_classic(rabbit_config, rabbit_manager):
    declare_all(rabbit_config["AMQP_URI"], {}, ["stats"])
    types = queue_types(rabbit_manager, rabbit_config["vhost"])
    assert types["rpc-stats"] == "classic" and types["stats.dlq"] == "classic"
    assert set(types.values()) == {"classic"}


class Echo:
    name = "queue_type_echo"

    @rpc(read_only=True)
    def echo(self, value: str) -> str:
        return value


def test_a_service_declares_its_rpc_queue_with_the_platform_type_and_answers(
    rabbit_config, rabbit_manager, container_factory
):
    config = {**rabbit_config, "EVENT_QUEUE_TYPE": "quorum"}
    container = container_factory(Echo, config)
    container.start()
    assert queue_types(rabbit_manager, rabbit_config["vhost"])["rpc-queue_type_echo"] == "quorum"
    with ClusterRpcProxy(config, timeout=10) as proxy:
        assert proxy.queue_type_echo.echo("still answering") == "still answering"


def test_classic_queues_of_an_earlier_install_become_quorum_with_their_messages(rabbit_config, rabbit_manager):
    uri, vhost = rabbit_config["AMQP_URI"], rabbit_config["vhost"]
    classic = {}
    old = [rpc_queue("housing", classic), consumer_queue("housing", "subsidy_approved", "notify", classic),
           retry_queue("notify", 200, classic)]  # fmt: skip
    with Connection(uri) as connection:
        for queue in old:
            queue(connection.channel()).declare()
    put(uri, "rpc-housing", 3)
    put(uri, "evt-housing-subsidy_approved--notify", 2)
    assert queue_types(rabbit_manager, vhost)["rpc-housing"] == "classic"

    declare_all(uri, QUORUM, ["housing", "notify"])

    types = queue_types(rabbit_manager, vhost)
    moved = ("rpc-housing", "evt-housing-subsidy_approved--notify", "notify.retry.200")
    assert {name: types[name] for name in moved} == dict.fromkeys(moved, "quorum")
    assert not [name for name in types if name.endswith(HOLDING_SUFFIX)]
    assert take_all(uri, rpc_queue("housing", QUORUM)) == [({"n": n}, n) for n in range(3)]
    assert take_all(uri, consumer_queue("housing", "subsidy_approved", "notify", QUORUM)) == [
        ({"n": n}, n) for n in range(2)
    ]
    with Connection(uri) as connection:  # declared again as they are now: nothing to move
        assert declare_or_migrate(connection, rpc_queue("housing", QUORUM)) == 0


def test_a_queue_with_a_consumer_is_not_moved(rabbit_config, rabbit_manager):
    uri, vhost = rabbit_config["AMQP_URI"], rabbit_config["vhost"]
    with Connection(uri) as consuming:
        queue = rpc_queue("stats", {})(consuming.channel())
        queue.declare()
        put(uri, "rpc-stats", 2)
        queue.consume(callback=lambda *args: None, no_ack=False)
        with Connection(uri) as connection, pytest.raises(QueueInUse, match="rpc-stats has 1 consumers"):
            declare_or_migrate(connection, rpc_queue("stats", QUORUM))
        assert queue_types(rabbit_manager, vhost)["rpc-stats"] == "classic"


def test_a_migration_cut_short_is_finished_by_the_next_declaration(rabbit_config, rabbit_manager):
    uri = rabbit_config["AMQP_URI"]
    holding = Queue("rpc-events" + HOLDING_SUFFIX, durable=True, queue_arguments={"x-queue-type": "quorum"})
    with Connection(uri) as connection:
        holding(connection.channel()).declare()
    put(uri, holding.name, 4)  # moved out of the old queue, which was then deleted, before the run died

    with Connection(uri) as connection:
        assert declare_or_migrate(connection, rpc_queue("events", QUORUM)) == 4

    types = queue_types(rabbit_manager, rabbit_config["vhost"])
    assert types["rpc-events"] == "quorum" and holding.name not in types
    assert [n for _, n in take_all(uri, rpc_queue("events", QUORUM))] == [0, 1, 2, 3]
