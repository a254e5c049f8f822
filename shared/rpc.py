"""The RPC entrypoint every service uses: unexpected failures reach the caller as a typed `InternalError`.

nameko would send any exception's type and text to the caller, so a bug would leak internals (an SQL
statement, a value that failed to parse) and leave the caller with an untyped failure. Domain errors and
nameko's own request errors (bad signature, malformed request) pass through unchanged; anything else is
logged here, masked, and replaced by `InternalError` carrying only the call id to quote to an operator.
"""

from __future__ import annotations

import inspect
import logging

from nameko.exceptions import BadRequest, IncorrectSignature
from nameko.rpc import Rpc

from shared.errors import DomainError, InternalError
from shared.pii import mask_text
from shared.queue_consumer import BROKER_GONE, BrokerTolerantRpcConsumer

log = logging.getLogger(__name__)

PASSED_THROUGH = (DomainError, BadRequest)


class SafeRpc(Rpc):
    rpc_consumer = BrokerTolerantRpcConsumer()

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
            error = exc_info[1]
            log.error(
                "rpc %s.%s failed (call %s): %s",
                self.container.service_name,
                self.method_name,
                worker_ctx.call_id,
                mask_text(f"{type(error).__name__}: {error}"),
                exc_info=exc_info,
            )
            exc_info = (InternalError, InternalError(f"internal error; quote call {worker_ctx.call_id}"), None)
        try:
            return super().handle_result(message, worker_ctx, result, exc_info)
        except BROKER_GONE as exc:  # the reply could not go: the request stays unacked and is redelivered
            log.warning("rpc %s.%s: reply lost with the broker connection (%s)", self.container.service_name,
                        self.method_name, type(exc).__name__)  # fmt: skip
            return result, exc_info


rpc = SafeRpc.decorator
