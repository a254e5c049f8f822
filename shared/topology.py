"""Names and declarations of the broker objects: event exchanges, consumer queues, retry and dead-letter queues.

The publisher (outbox relay) and the consumer both build queues through here, so their arguments always
agree (RabbitMQ refuses a redeclaration with different arguments).
"""

from __future__ import annotations

from kombu import Connection, Exchange, Queue
from nameko.constants import PERSISTENT

from shared.contracts import load_all

DEFAULT_RETRY_DELAYS_MS = (1_000, 5_000, 30_000)


def event_exchange(source: str) -> Exchange:
    # the same declaration nameko's EventDispatcher makes, so plain @event_handler consumers work too
    return Exchange(f"{source}.events", type="topic", durable=True, delivery_mode=PERSISTENT)


def queue_arguments(config: dict) -> dict:
    queue_type = config.get("EVENT_QUEUE_TYPE", "classic")
    return {"x-queue-type": queue_type} if queue_type and queue_type != "classic" else {}


def consumer_queue_name(source: str, event_type: str, consumer: str) -> str:
    return f"evt-{source}-{event_type}--{consumer}"


def consumer_queue(source: str, event_type: str, consumer: str, config: dict) -> Queue:
    return Queue(
        consumer_queue_name(source, event_type, consumer),
        exchange=event_exchange(source),
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


def retry_exchange(service: str, delay_ms: int) -> Exchange:
    return Exchange(f"{service}.retry.{delay_ms}", type="fanout", durable=True)


def retry_queue(service: str, delay_ms: int) -> Queue:
    # a message waits here for the queue's TTL, then is dead-lettered through the default exchange with
    # its own routing key, which the consumer set to its work queue's name: it lands back there
    return Queue(
        f"{service}.retry.{delay_ms}",
        exchange=retry_exchange(service, delay_ms),
        durable=True,
        queue_arguments={"x-message-ttl": delay_ms, "x-dead-letter-exchange": ""},
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
    declarations += [retry_queue(service, delay) for delay in retry_delays(config)]
    return declarations


def declare_all(amqp_uri: str, config: dict, services) -> int:
    """Declare the whole platform's topology; used by `make run` before any service starts."""
    count = 0
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        for service in services:
            for entity in publisher_declarations(service, config) + consumer_declarations(service, config):
                entity(channel).declare()  # a bound copy: the shared entity may be bound to a closed channel
                count += 1
    return count


def main() -> int:
    from nameko.constants import AMQP_URI_CONFIG_KEY

    from shared.config import SERVICES, load_service_config

    config = load_service_config(SERVICES[0])
    count = declare_all(config[AMQP_URI_CONFIG_KEY], config, SERVICES)
    print(f"declared {count} exchanges and queues")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
