"""Names and declarations of the broker objects: event exchanges, consumer queues, retry and dead-letter
queues, and each service's RPC request queue.

The publisher (outbox relay), the consumer and the RPC entrypoint all build queues through here, so their
arguments always agree (RabbitMQ refuses a redeclaration with different arguments). `EVENT_QUEUE_TYPE`
gives the type of every one of them: `classic` on one node, `quorum` on a cluster, where a queue must
survive the loss of the node that leads it. `python -m shared.platform.topology` declares them all, and moves a
queue an earlier install declared with the other type to the wanted one (`shared/platform/queue_migration.py`).
"""

from __future__ import annotations

import copy
import logging
import time

from amqp.exceptions import AccessRefused, NotFound
from kombu import Connection, Exchange, Queue
from nameko.amqp.publish import get_connection
from nameko.constants import AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, LOGIN_METHOD_CONFIG_KEY, PERSISTENT
from nameko.rpc import RPC_QUEUE_TEMPLATE, get_rpc_exchange

from shared.platform.contracts import load_all
from shared.platform.queue_migration import declare_or_migrate

log = logging.getLogger(__name__)

DEFAULT_RETRY_DELAYS_MS = (1_000, 5_000, 30_000)
EXCHANGE_WAITS_SECONDS = (0.2, 0.5, 1, 2, 5)  # then every 5 s, while a consumer's source exchange is missing


def event_exchange(source: str, no_declare: bool = False) -> Exchange:
    # the same declaration nameko's EventDispatcher makes, so plain @event_handler consumers work too
    return Exchange(f"{source}.events", type="topic", durable=True, delivery_mode=PERSISTENT, no_declare=no_declare)


def queue_arguments(config: dict) -> dict:
    queue_type = config.get("EVENT_QUEUE_TYPE", "classic")
    return {"x-queue-type": queue_type} if queue_type and queue_type != "classic" else {}


def consumer_queue_name(source: str, event_type: str, consumer: str) -> str:
    return f"evt-{source}-{event_type}--{consumer}"


def consumer_queue(source: str, event_type: str, consumer: str, config: dict, declares_exchange: bool = True) -> Queue:
    """The consumer's own copy (`declares_exchange=False`) binds to the source's exchange without declaring it:
    declaring needs configure permission on the exchange, and configure is also what allows deleting it."""
    return Queue(
        consumer_queue_name(source, event_type, consumer),
        exchange=event_exchange(source, no_declare=not declares_exchange),
        routing_key=event_type,
        durable=True,
        queue_arguments=queue_arguments(config) or None,
    )


def dead_letter_queue_name(service: str) -> str:
    return f"{service}.dlq"


def dead_letter_queue(service: str, config: dict) -> Queue:
    return Queue(
        dead_letter_queue_name(service),
        exchange=Exchange(""),
        routing_key=dead_letter_queue_name(service),
        durable=True,
        queue_arguments=queue_arguments(config) or None,
    )


def retry_delays(config: dict) -> tuple[int, ...]:
    return tuple(int(ms) for ms in config.get("EVENT_RETRY_DELAYS_MS", DEFAULT_RETRY_DELAYS_MS))


def retry_name(service: str, delay_ms: int) -> str:
    """The name of both the retry exchange and its queue for one delay."""
    return f"{service}.retry.{delay_ms}"


def retry_exchange(service: str, delay_ms: int) -> Exchange:
    return Exchange(retry_name(service, delay_ms), type="fanout", durable=True)


def retry_queue(service: str, delay_ms: int, config: dict) -> Queue:
    # a message waits here for the queue's TTL, then is dead-lettered through the default exchange with
    # its own routing key, which the consumer set to its work queue's name: it lands back there
    arguments = {"x-message-ttl": delay_ms, "x-dead-letter-exchange": "", **queue_arguments(config)}
    if arguments.get("x-queue-type") == "quorum":
        # a quorum queue dead-letters at most once by default: a leader lost mid-way would drop the message.
        # At least once needs reject-publish (RabbitMQ 3.10+); the work queue's idempotency absorbs a repeat.
        arguments.update({"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"})
    return Queue(retry_name(service, delay_ms), exchange=retry_exchange(service, delay_ms), durable=True,
                 queue_arguments=arguments)  # fmt: skip


def nameko_rpc_exchange(config: dict, no_declare: bool = False) -> Exchange:
    exchange = get_rpc_exchange(config)  # a new Exchange on every call
    exchange.no_declare = no_declare
    return exchange


def rpc_queue(service: str, config: dict, declares_exchange: bool = True) -> Queue:
    """nameko's `rpc-<service>` request queue (same name, exchange and binding), of the platform's queue type:
    nameko declares it classic, so RPC to a service stopped while the node holding its queue was down. The
    service's own copy (`declares_exchange=False`) binds to `nameko-rpc` without declaring it, as a consumer
    of events does to their source's exchange."""
    return Queue(
        RPC_QUEUE_TEMPLATE.format(service),
        exchange=nameko_rpc_exchange(config, no_declare=not declares_exchange),
        routing_key=f"{service}.*",
        durable=True,
        queue_arguments=queue_arguments(config) or None,
    )


def publisher_declarations(service: str, config: dict) -> list:
    """Everything a publishing service must declare: its exchange and every known consumer's queue."""
    declarations: list = [event_exchange(service)]
    for contract in load_all().published_by(service):
        for consumer in contract.consumers:
            declarations.append(consumer_queue(service, contract.event_type, consumer, config))
    return declarations


def consumer_declarations(service: str, config: dict) -> list:
    declarations: list = [dead_letter_queue(service, config)]
    declarations += [retry_queue(service, delay, config) for delay in retry_delays(config)]
    return declarations


_existing: set[tuple[str, str]] = set()  # (AMQP URI, exchange) seen to exist by this process


def await_exchange(config: dict, exchange: Exchange) -> None:
    """Return once `exchange` exists, so a queue can be bound to it without declaring it.

    Its existence is checked with a passive declare, which needs no permission. A missing exchange is
    declared when this identity may (the suite's administrator, a single-user local set-up), so services
    start in any order there; otherwise (a service's own broker user) the service waits, logging, until the
    topology step (`python -m shared.platform.topology`) or the exchange's publisher has declared it."""
    key = (config[AMQP_URI_CONFIG_KEY], exchange.name)
    if key in _existing:
        return
    declaring = _declarable(exchange)
    waits = 0
    with get_connection(key[0], config.get(AMQP_SSL_CONFIG_KEY), config.get(LOGIN_METHOD_CONFIG_KEY)) as connection:
        while not _exists(connection, exchange):
            try:
                declaring(connection.channel()).declare()
                break
            except AccessRefused:
                delay = EXCHANGE_WAITS_SECONDS[min(waits, len(EXCHANGE_WAITS_SECONDS) - 1)]
                log.warning("exchange %s does not exist yet and this broker user may not declare it: waiting %ss "
                            "for the topology step or its publisher to declare it", exchange.name, delay)  # fmt: skip
                time.sleep(delay)  # green under nameko's eventlet
                waits += 1
    _existing.add(key)


def redeclare_missing(channel, exchanges) -> None:
    """After a reconnection, an exchange that went away meanwhile (its vhost deleted and made again, a broker
    reset) is declared again where this identity may, before the queues are bound to it; where it may not, the
    bind fails and kombu tries the connection again after its back-off, until the topology step has run."""
    connection = channel.connection
    for exchange in {e.name: e for e in exchanges if e is not None and e.name and e.no_declare}.values():
        if not _exists(connection, exchange):
            _declarable(exchange)(connection.channel()).declare()


def _declarable(exchange: Exchange) -> Exchange:
    declaring = copy.copy(exchange)
    declaring.no_declare = False
    return declaring


def _exists(connection, exchange: Exchange) -> bool:
    """`connection`: kombu's or py-amqp's; either opens the channel the passive declare needs."""
    channel = connection.channel()  # a refused declare closes its channel: one each
    try:
        channel.exchange_declare(exchange.name, exchange.type, passive=True)
        return True
    except NotFound:
        return False
    finally:
        if channel.is_open:
            channel.close()


def declare_all(amqp_uri: str, config: dict, services) -> int:
    """Declare the whole platform's topology; used by `make run` before any service starts. A queue that
    exists with another type is moved to the wanted one, messages and all (the services must be stopped)."""
    count = 0
    with Connection(amqp_uri) as connection:
        for service in services:
            entities = publisher_declarations(service, config) + consumer_declarations(service, config)
            for entity in [*entities, rpc_queue(service, config)]:
                declare_or_migrate(connection, entity)
                count += 1
    return count


def main() -> int:
    import os

    from nameko.constants import AMQP_URI_CONFIG_KEY

    from shared.platform.broker_access import TOPOLOGY, own_amqp_uri
    from shared.platform.config import SERVICES, load_service_config

    config = load_service_config(SERVICES[0])
    count = declare_all(own_amqp_uri(TOPOLOGY, os.environ, config[AMQP_URI_CONFIG_KEY]), config, SERVICES)
    print(f"declared {count} exchanges and queues")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
