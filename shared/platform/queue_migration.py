"""Declaring a queue that may exist already with other arguments: moving it to the wanted ones, messages and all.

RabbitMQ fixes a queue's type when it is first declared and refuses a redeclaration with other arguments
(406 PRECONDITION_FAILED, which closes the channel). An install that ran with `EVENT_QUEUE_TYPE=classic`
and is switched to `quorum` (a cluster) holds classic queues of the very names the services now declare as
quorum queues; they would refuse to start. `declare_or_migrate` moves such a queue, with the services
stopped (a queue with a consumer is refused, `QueueInUse`):

1. every message of `<name>` to a holding queue `<name>.migrating` of the wanted type, each acked only
   after the broker confirmed its copy;
2. `<name>` deleted and declared again with the wanted arguments and bindings;
3. every message back from the holding queue, which is then deleted.

A migration cut short is finished by the next run: the holding queue is found and emptied into `<name>`.
"""

from __future__ import annotations

import logging

from amqp.exceptions import NotFound, PreconditionFailed
from kombu import Queue

log = logging.getLogger(__name__)

HOLDING_SUFFIX = ".migrating"


class QueueInUse(Exception):
    """The queue to migrate has consumers: stop the services first."""


def declare_or_migrate(connection, entity) -> int:
    """Declare an exchange or queue; returns how many messages a queue with other arguments had moved."""
    try:
        with connection.channel() as channel:
            entity(channel).declare()  # a bound copy: the shared entity may be bound to a closed channel
        moved = 0
    except PreconditionFailed:
        if not isinstance(entity, Queue):
            raise
        moved = _migrate(connection, entity)
    if isinstance(entity, Queue):
        moved += _finish(connection, entity)
    return moved


def _holding(entity: Queue) -> Queue:
    # the type only: a retry queue's TTL would send held messages on before the move is done
    arguments = {key: value for key, value in (entity.queue_arguments or {}).items() if key == "x-queue-type"}
    return Queue(entity.name + HOLDING_SUFFIX, durable=True, queue_arguments=arguments or None)


def _migrate(connection, entity: Queue) -> int:
    with connection.channel() as channel:
        _, _, consumers = channel.queue_declare(entity.name, passive=True)
        if consumers:
            raise QueueInUse(f"{entity.name} has {consumers} consumers: stop the services, then declare again")
        holding = _holding(entity)
        holding(channel).declare()
    moved = _move(connection, entity.name, holding.name)
    with connection.channel() as channel:
        channel.queue_delete(entity.name)
    with connection.channel() as channel:
        entity(channel).declare()
    log.warning("queue %s declared again with %s (%d messages kept)", entity.name, entity.queue_arguments, moved)
    return moved


def _finish(connection, entity: Queue) -> int:
    """Empty a holding queue a migration left (this run's, or one cut short) into the queue, and delete it."""
    name = entity.name + HOLDING_SUFFIX
    try:
        with connection.channel() as channel:
            channel.queue_declare(name, passive=True)
    except NotFound:
        return 0
    moved = _move(connection, name, entity.name)
    with connection.channel() as channel:
        channel.queue_delete(name)  # just emptied; quorum queues refuse if_empty
    return moved


def _move(connection, source: str, target: str) -> int:
    moved = 0
    with connection.channel() as channel:
        while (message := channel.basic_get(source, no_ack=False)) is not None:
            # waits for the broker's confirm and raises if it is refused: the original stays unacked, kept
            channel.basic_publish_confirm(message, exchange="", routing_key=target, confirm_timeout=30)
            channel.basic_ack(message.delivery_tag)
            moved += 1
    return moved
