"""Log records that say where they come from: the service, nameko's call id, the correlation id, the case
a worker is handling (an RPC's `application_id`, `enrolment_id`, …), where there is one, and the trace and
span the line was written in (`trace_id`, `span_id`: shared/platform/tracing.py; None while tracing is off).

Each service's `LOGGING` (config.yaml) gives its console handler two filters, `pii`
(shared.platform.personal_data: masks ID and phone numbers first) then `context` (this module), and a
formatter chosen by `LOG_FORMAT`: `plain` (the default, one readable line for a terminal) or `json` (one JSON
object a line, python-json-logger; what deploy/ sets). The worker's context lives in a context variable:
eventlet's greenlets each have their own, so one worker's ids never appear on another's lines, and lines
outside a worker carry the service only.
"""

from __future__ import annotations

import contextvars
import inspect
import logging
from weakref import WeakKeyDictionary

from nameko.extensions import DependencyProvider

from shared.platform.personal_data import mask_text
from shared.platform.tracing import current_ids

CASE_ID_PARAMETERS = (
    "case_id", "application_id", "enrolment_id", "registration_id", "activity_id", "appeal_id", "notification_id",
    "broadcast_id",
)  # fmt: skip
MAX_ID_LENGTH = 64

_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar("newcitizen_log_context", default=None)


class LogContext(DependencyProvider):
    """Sets the worker's log context for its lifetime; `self.log_context.case(case_id)` names a case later."""

    def __init__(self):
        self.tokens: WeakKeyDictionary = WeakKeyDictionary()

    def worker_setup(self, worker_ctx):
        from shared.platform.outbox import correlation_id_of

        context = {
            "call_id": worker_ctx.call_id,
            "correlation_id": correlation_id_of(worker_ctx),
            "case_id": case_id_of(self.container.service_cls, worker_ctx),
        }
        self.tokens[worker_ctx] = _context.set(context)

    def worker_teardown(self, worker_ctx):
        token = self.tokens.pop(worker_ctx, None)
        if token is not None:
            _context.reset(token)

    def get_dependency(self, worker_ctx) -> LogContext:
        return self

    @staticmethod
    def case(case_id) -> None:
        _context.set({**(_context.get() or {}), "case_id": _clean(case_id)})


def case_id_of(service_cls, worker_ctx) -> str | None:
    """The first case-id parameter of the call, also inside a dict payload (`register({"activity_id": …})`)."""
    method = getattr(service_cls, worker_ctx.entrypoint.method_name, None)
    try:
        arguments = inspect.signature(method).bind_partial(None, *worker_ctx.args, **worker_ctx.kwargs).arguments
    except (TypeError, ValueError):  # a call the entrypoint refuses; its own check says so
        return None
    for scope in (arguments, *(value for value in arguments.values() if isinstance(value, dict))):
        for name in CASE_ID_PARAMETERS:
            if scope.get(name):
                return _clean(scope[name])
    return None


def _clean(value) -> str:
    return mask_text(str(value))[:MAX_ID_LENGTH]  # a caller's value: never an ID number in the clear


class ContextFilter(logging.Filter):
    def __init__(self, service: str = ""):
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get() or {}
        record.service = self.service
        record.call_id = context.get("call_id")
        record.correlation_id = context.get("correlation_id")
        record.case_id = context.get("case_id")
        record.trace_id, record.span_id = current_ids()
        return True


JSON_FIELDS = (
    "%(asctime)s %(levelname)s %(service)s %(name)s %(message)s %(call_id)s %(correlation_id)s %(case_id)s"
    " %(trace_id)s %(span_id)s"
)
JSON_RENAMES = {"asctime": "time", "levelname": "level", "name": "logger"}


def json_formatter():
    """The `json` formatter of every service's LOGGING (dictConfig's `()` factory)."""
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(JSON_FIELDS, rename_fields=JSON_RENAMES, json_ensure_ascii=False)
