"""The RPC entrypoint every service uses: a request is checked before any worker starts, and unexpected
failures reach the caller as a typed `InternalError`.

nameko would send any exception's type and text to the caller, so a bug would leak internals (an SQL
statement, a value that failed to parse) and leave the caller with an untyped failure. Domain errors and
nameko's own request errors (bad signature, malformed request) pass through unchanged; anything else is
logged here, masked, and replaced by `InternalError` carrying only a reference to quote to an operator.

nameko also trusts the request itself, and a malformed one killed the service (`shared/platform/rpc_edge.py`). Here
every request nameko cannot start a worker for (undecodable, malformed envelope or context headers, unknown
method, wrong arguments) is refused: answered with a typed error when it has a reply address, otherwise
dead-lettered to `<service>.dlq` with the reason; either way it is acked and the service keeps going.
"""

from __future__ import annotations

import inspect
import logging

from kombu.exceptions import ContentDisallowed
from nameko.amqp.publish import Publisher
from nameko.constants import AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, LOGIN_METHOD_CONFIG_KEY
from nameko.exceptions import BadRequest, IncorrectSignature, serialize
from nameko.rpc import Rpc, RpcConsumer, get_rpc_exchange

from shared.platform.amqp_queue_consumer import BROKER_GONE, RpcQueueConsumer
from shared.platform.clock import wall_timestamp
from shared.platform.dead_letters import dead_letter_headers, republish
from shared.platform.errors import DomainError, InternalError, MalformedCall
from shared.platform.ids import new_id
from shared.platform.metrics import RPC_REFUSED
from shared.platform.personal_data import mask_text
from shared.platform.rpc_edge import content_problems, request_problems, unanswerable
from shared.platform.topology import await_exchange, dead_letter_queue, dead_letter_queue_name, rpc_queue

log = logging.getLogger(__name__)

PASSED_THROUGH = (DomainError, BadRequest)
# far above the largest request the platform takes (a form of bounded text fields, a broadcast's parameters),
# far below what the broker lets through (RabbitMQ's max_message_size, 16 MiB on 4.x)
DEFAULT_MAX_BODY_BYTES = 1 << 20


def for_the_caller(error: BaseException, where: str, reference: str, exc_info=None) -> BaseException:
    """The error itself when the caller is meant to see it; otherwise logged (masked) and an InternalError."""
    if isinstance(error, PASSED_THROUGH):
        return error
    log.error(
        "rpc %s failed (%s): %s", where, reference, mask_text(f"{type(error).__name__}: {error}"), exc_info=exc_info
    )
    return InternalError(f"internal error; quote {reference}")


class GuardedRpcConsumer(RpcConsumer):
    queue_consumer = RpcQueueConsumer()
    max_body_bytes = DEFAULT_MAX_BODY_BYTES

    def setup(self):
        super().setup()
        config = self.container.config
        self.max_body_bytes = int(config.get("RPC_MAX_BODY_BYTES") or DEFAULT_MAX_BODY_BYTES)
        # nameko's, of the platform's queue type, bound to nameko-rpc without declaring it (the topology step does)
        self.queue = rpc_queue(self.container.service_name, config, declares_exchange=False)
        await_exchange(config, self.queue.exchange)
        connection = {"ssl": config.get(AMQP_SSL_CONFIG_KEY), "login_method": config.get(LOGIN_METHOD_CONFIG_KEY)}
        self.replies = Publisher(config[AMQP_URI_CONFIG_KEY], serializer="json", **connection)
        self.dead_letters = Publisher(
            config[AMQP_URI_CONFIG_KEY],
            declare=[dead_letter_queue(self.container.service_name, config)],
            **connection,
        )

    def handle_message(self, body, message):
        try:
            if unanswerable(message):  # never run what nobody can hear the answer to
                self.refuse(message, None)
                return
            problems = request_problems(body, message)
            if problems:
                raise MalformedCall(problems, "malformed request")
            provider = self.get_provider_for_method(message.delivery_info["routing_key"])
            provider.handle_message(body, message)  # checks the signature, then spawns the worker
        except Exception as exc:
            self.refuse(message, exc)

    def oversized(self, message):
        """Larger than any request this platform takes (called on the consumer's own thread, undecoded)."""
        size = len(message.body)
        self.refuse(message, MalformedCall({"body": [f"must be at most {self.max_body_bytes} bytes; got {size}."]},
                                           "request too large"))  # fmt: skip

    def undecodable(self, message, exc):
        """kombu could not decode the body (called on the consumer's own thread)."""
        problems = content_problems(message)
        if not problems:
            kind = "a content type not accepted" if isinstance(exc, ContentDisallowed) else "not valid JSON"
            problems = {"body": [f"could not be decoded: {kind}."]}
        self.refuse(message, MalformedCall(problems, "malformed request"))

    def refuse(self, message, error: BaseException | None):
        service = self.container.service_name
        routing_key = str(message.delivery_info.get("routing_key", ""))[:120]
        why = unanswerable(message)
        if error is not None:
            error = for_the_caller(error, routing_key, f"request {new_id()}")
        kind = type(error).__name__ if error is not None else "Unanswerable"
        try:
            if why:
                reason = f"unanswerable: {why}" + (f"; {kind}: {error}" if error is not None else "")
                headers = dead_letter_headers(message, reason, self.queue.name, f"{service}.rpc")
                republish(self.dead_letters, message, "", dead_letter_queue_name(service), headers, wall_timestamp())
            else:
                payload = {"result": None, "error": serialize(error)}
                self.replies.publish(
                    payload,
                    exchange=get_rpc_exchange(self.container.config),
                    routing_key=message.properties["reply_to"],
                    correlation_id=message.properties["correlation_id"],
                )
        except BROKER_GONE as exc:
            log.warning("rpc %s: refusal lost with the broker connection (%s)", routing_key, type(exc).__name__)
            self.put_back(message)
            return
        except Exception:
            log.exception("rpc %s: could not answer or dead-letter a refused request; dropped", routing_key)
        RPC_REFUSED.labels(service, "Unanswerable" if why else kind).inc()
        log.warning("rpc %s: refused (%s)", routing_key, mask_text(why or kind))
        self.queue_consumer.ack_message(message)

    def put_back(self, message):
        """A request whose answer could not be published goes back on its queue to run again. Leaving it
        unacked is not enough: the broker redelivers only when the consumer's own connection closes, and
        that connection is often alive while the publisher's (another, pooled) is the one that failed, so the
        request stayed held for good and its caller never heard (found on the cluster: a node killed under a
        publisher connection while the consumer's was on a node that lived)."""
        self.queue_consumer.requeue_message(message)


class SafeRpc(Rpc):
    """`@rpc` for a write, `@rpc(read_only=True)` for a read. Every write must declare its roles
    (`@requires`), also one a resident uses on their own record: a token without roles never changes
    anything (checked for every RPC of every service by tests/fuzz/test_write_roles.py)."""

    rpc_consumer = GuardedRpcConsumer()

    def __init__(self, read_only: bool = False, **kwargs):
        self.read_only = read_only
        super().__init__(**kwargs)

    def check_signature(self, args, kwargs):
        # nameko uses inspect.getcallargs, which sees a decorator's (*args, **kwargs) and accepts anything;
        # inspect.signature follows __wrapped__ to the real method, so a wrong call is refused up front
        method = getattr(self.container.service_cls, self.method_name)
        try:
            inspect.signature(method).bind(None, *args, **kwargs)
        except TypeError as exc:
            raise IncorrectSignature(str(exc)) from None

    def handle_result(self, message, worker_ctx, result, exc_info):
        if exc_info is not None and not isinstance(exc_info[1], PASSED_THROUGH):
            where = f"{self.container.service_name}.{self.method_name}"
            error = for_the_caller(exc_info[1], where, f"call {worker_ctx.call_id}", exc_info=exc_info)
            exc_info = (InternalError, error, None)
        try:
            return super().handle_result(message, worker_ctx, result, exc_info)
        except BROKER_GONE as exc:
            log.warning("rpc %s.%s: reply lost with the broker connection (%s); the request runs again",
                        self.container.service_name, self.method_name, type(exc).__name__)  # fmt: skip
            self.rpc_consumer.put_back(message)
            return result, exc_info


rpc = SafeRpc.decorator
