"""Who may do what on the broker: one RabbitMQ user per service, one for the ops CLI and one for the topology
step, with permissions derived from the topology (`shared/platform/topology.py`) and the event contracts, never
written by hand.

    python -m shared.platform.broker_access      # prints each identity's configure / write / read regexes

RabbitMQ checks three permissions per vhost, each a regex over the names of exchanges and queues: configure
(declare, delete), write (publish to an exchange; bind a queue), read (consume or get from a queue; bind from
an exchange). What each process really does at start-up and after, and so needs:

* a service's outbox relay declares its `<service>.events` exchange and every consumer queue of its events,
  binds them (write on the queues, read on the exchange) and publishes to the exchange;
* its event consumers declare their queues and bind them to their source's exchange, which they never
  declare (configure on an exchange also allows deleting it): they check it exists with a passive declare,
  which needs no permission, and wait for the topology step if it does not (`topology.await_exchange`);
  they consume their queues, re-publish a failed message to their own `<service>.retry.<ms>` exchanges and a
  poison one to `<service>.dlq` through the default exchange, and declare the retry queues, which
  dead-letter through the default exchange;
* its RPC entrypoint declares `rpc-<service>` and binds it to nameko's `nameko-rpc` exchange, which it does
  not declare either (the same passive check), consumes, and publishes the replies to `nameko-rpc`;
* the ops CLI makes RPC calls (an `rpc.reply-standalone_rpc_proxy-<uuid>` queue, requests on `nameko-rpc`),
  and lists and replays every `<service>.dlq` (replay publishes to the original queue by the default exchange);
* the topology step (`python -m shared.platform.topology`, the migrations Job) declares everything, and moves a queue
  to another type through a `<name>.migrating` holding queue, messages and all.

`amq.default` is RabbitMQ's name for the default exchange in permission checks. A service may write to it
(dead letters and retry queues need it), which lets it put a message straight onto any queue by name: the
limit of this layer, written out in docs/security.md.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

from nameko.rpc import RPC_QUEUE_TEMPLATE, RPC_REPLY_QUEUE_TEMPLATE, get_rpc_exchange

from shared.platform.config import SERVICES
from shared.platform.contracts import load_all
from shared.platform.queue_migration import HOLDING_SUFFIX
from shared.platform.rpc_edge import REPLY_KEY
from shared.platform.topology import consumer_queue_name, dead_letter_queue_name, event_exchange, retry_name, rpc_queue

DEFAULT_EXCHANGE = "amq.default"
OPS = "ops"
TOPOLOGY = "topology"
IDENTITIES = (*SERVICES, OPS, TOPOLOGY)
USER_PREFIX = "newcitizen-"
NOTHING = "^$"  # matches no exchange or queue name
UUID = REPLY_KEY.pattern  # nameko's reply keys, as the RPC edge requires them
STANDALONE_PROXY = "standalone_rpc_proxy"  # nameko.standalone.rpc's service name for its reply queue


class _Rendered:
    """`write_any` and `read_any` (sets of regex alternatives) rendered as RabbitMQ takes them: one anchored regex."""

    @property
    def write(self) -> str:
        return any_of(self.write_any)

    @property
    def read(self) -> str:
        return any_of(self.read_any)

    def allows(self, kind: str, name: str) -> bool:
        """Whether RabbitMQ would let `kind` ("configure", "write", "read") on `name` (an object, a routing key)."""
        return re.search(getattr(self, kind), name) is not None


@dataclass(frozen=True)
class TopicPermission(_Rendered):
    """On one topic exchange, the routing keys the identity may publish with (write) and bind with (read)."""

    exchange: str
    write_any: frozenset[str]
    read_any: frozenset[str]


def topic(exchange: str, write=(), read=(), write_patterns=(), read_patterns=()) -> TopicPermission:
    """Literal routing keys, plus patterns (regexes)."""
    return TopicPermission(
        exchange,
        frozenset(re.escape(key) for key in write) | frozenset(write_patterns),
        frozenset(re.escape(key) for key in read) | frozenset(read_patterns),
    )


@dataclass(frozen=True)
class Permissions(_Rendered):
    """Each permission as the set of its alternatives (regexes), rendered as one anchored regex; `topics`
    narrow publishing and binding on topic exchanges to routing keys."""

    configure_any: frozenset[str]
    write_any: frozenset[str]
    read_any: frozenset[str]
    topics: tuple[TopicPermission, ...] = ()

    @property
    def configure(self) -> str:
        return any_of(self.configure_any)

    def topic(self, exchange: str) -> TopicPermission | None:
        return next((granted for granted in self.topics if granted.exchange == exchange), None)

    def __or__(self, other: Permissions) -> Permissions:
        return Permissions(
            self.configure_any | other.configure_any, self.write_any | other.write_any, self.read_any | other.read_any
        )


def grant(configure=(), write=(), read=(), patterns=(), topics=()) -> Permissions:
    """Literal names for each permission, plus `patterns` (regexes) for all three."""

    def alternatives(names) -> frozenset[str]:
        return frozenset(re.escape(name) for name in names) | frozenset(patterns)

    return Permissions(alternatives(configure), alternatives(write), alternatives(read), tuple(topics))


def any_of(alternatives) -> str:
    """An anchored regex matching exactly the alternatives; `^$` (nothing) when there are none."""
    return f"^({'|'.join(sorted(alternatives))})$" if alternatives else NOTHING


def username(identity: str) -> str:
    return f"{USER_PREFIX}{identity}"


def amqp_uri_variable(identity: str) -> str:
    """`<IDENTITY>_AMQP_URI`: where a process started outside a container finds its own credentials."""
    return f"{identity.upper()}_AMQP_URI"


def own_amqp_uri(identity: str, environ, default: str) -> str:
    """The identity's own AMQP URI when the environment gives one (the opt-in local users, the tests' sandbox),
    else `default` (AMQP_URI: a container is given its own there)."""
    return environ.get(amqp_uri_variable(identity)) or default


def retry_pattern(service: str) -> str:
    """`<service>.retry.<ms>` exchanges and queues, for any delays EVENT_RETRY_DELAYS_MS configures."""
    marker = "0"
    literal = retry_name(service, int(marker))
    return re.escape(literal[: -len(marker)]) + "[0-9]+"


def rpc_exchange() -> str:
    return get_rpc_exchange({}).name


@dataclass(frozen=True)
class ServiceObjects:
    """The broker objects one service touches, by name, from the contracts it publishes and consumes."""

    service: str
    exchange: str  # its own event exchange
    published_queues: tuple[str, ...]  # every consumer's queue of its events (it declares and binds them)
    consumed_queues: tuple[str, ...]  # its own queues of other services' events
    source_exchanges: tuple[str, ...]  # the exchanges those are bound to
    rpc_queue: str
    dead_letter_queue: str
    published_types: tuple[str, ...]  # the routing keys of its events
    consumed_types: dict[str, tuple[str, ...]]  # {source exchange: the routing keys it consumes there}

    @classmethod
    def of(cls, service: str) -> ServiceObjects:
        registry = load_all()
        published = [
            consumer_queue_name(service, contract.event_type, consumer)
            for contract in registry.published_by(service)
            for consumer in contract.consumers
        ]
        consumed = registry.consumed_by(service)
        return cls(
            service=service,
            exchange=event_exchange(service).name,
            published_queues=tuple(sorted(set(published))),
            consumed_queues=tuple(sorted({consumer_queue_name(c.source, c.event_type, service) for c in consumed})),
            source_exchanges=tuple(sorted({event_exchange(c.source).name for c in consumed})),
            rpc_queue=RPC_QUEUE_TEMPLATE.format(service),
            dead_letter_queue=dead_letter_queue_name(service),
            published_types=tuple(sorted({contract.event_type for contract in registry.published_by(service)})),
            consumed_types={
                event_exchange(source).name: tuple(sorted({c.event_type for c in consumed if c.source == source}))
                for source in sorted({c.source for c in consumed})
            },
        )


def service_permissions(service: str) -> Permissions:
    objects = ServiceObjects.of(service)
    queues = [*objects.published_queues, *objects.consumed_queues, objects.rpc_queue]
    return grant(
        configure=[objects.exchange, *queues, objects.dead_letter_queue],  # not the exchanges it binds to
        write=[objects.exchange, *queues, rpc_exchange(), DEFAULT_EXCHANGE],
        read=[objects.exchange, *objects.consumed_queues, objects.rpc_queue, *objects.source_exchanges, rpc_exchange()],
        patterns=[retry_pattern(service)],
        topics=[
            # on nameko-rpc: replies only (to a caller's reply key), and its own request queue's binding
            topic(rpc_exchange(), write_patterns=[UUID], read=[rpc_binding(service)]),
            topic(objects.exchange, write=objects.published_types, read=objects.published_types),
            *(topic(exchange, read=types) for exchange, types in objects.consumed_types.items()),
        ],
    )


def rpc_binding(service: str) -> str:
    return rpc_queue(service, {}).routing_key


def reply_queue_pattern() -> str:
    marker = "0"
    literal = re.escape(RPC_REPLY_QUEUE_TEMPLATE.format(STANDALONE_PROXY, marker))
    return literal[: -len(marker)] + UUID


def ops_permissions() -> Permissions:
    """RPC calls with a reply queue of its own; reading and replaying the dead-letter queues."""
    dead_letters = [dead_letter_queue_name(service) for service in SERVICES]
    requests = f"({'|'.join(re.escape(service) for service in SERVICES)})\\.[A-Za-z_][A-Za-z0-9_]*"
    return grant(
        configure=[rpc_exchange()],
        write=[rpc_exchange(), DEFAULT_EXCHANGE],
        read=[rpc_exchange(), *dead_letters],
        patterns=[reply_queue_pattern()],
        topics=[topic(rpc_exchange(), write_patterns=[requests], read_patterns=[UUID])],
    )


def topology_permissions() -> Permissions:
    """Every object a service or ops touches, and its holding copy while a queue changes type (moving a queue
    reads it and publishes its messages through the default exchange), nothing else."""
    union = ops_permissions()
    for service in SERVICES:
        union = union | service_permissions(service)

    def held(alternatives: frozenset[str]) -> frozenset[str]:
        return frozenset({f"({'|'.join(sorted(alternatives))})({re.escape(HOLDING_SUFFIX)})?"})

    # it binds every queue and publishes nothing on a topic exchange (a queue is moved by the default exchange)
    bindings = [topic(rpc_exchange(), read=[rpc_binding(service) for service in SERVICES])]
    bindings += [topic(event_exchange(service).name, read=ServiceObjects.of(service).published_types)
                 for service in SERVICES]  # fmt: skip
    return Permissions(held(union.configure_any), held(union.write_any), held(union.read_any), tuple(bindings))


def permissions() -> dict[str, Permissions]:
    """Every broker identity's permissions on the platform's vhost."""
    table = {service: service_permissions(service) for service in SERVICES}
    table[OPS] = ops_permissions()
    table[TOPOLOGY] = topology_permissions()
    return table


def main() -> int:
    for identity, granted in permissions().items():
        print(f"{username(identity)}\n  configure {granted.configure}\n  write     {granted.write}")
        print(f"  read      {granted.read}")
        for on in granted.topics:
            print(f"  topic {on.exchange}: write {on.write}  read {on.read}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
