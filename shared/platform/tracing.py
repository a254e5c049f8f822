"""Tracing across RPC and events: one approval is one trace, from the RPC through the outbox to notify's SMS
and stats' count (OpenTelemetry; off unless configured).

* **On** when the standard variables ask for it: `OTEL_TRACES_EXPORTER=otlp`, or an OTLP endpoint
  (`OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) without `OTEL_TRACES_EXPORTER=none`.
  Spans go in batches over OTLP/HTTP (protobuf) to that endpoint; the SDK reads its other variables
  (`OTEL_TRACES_SAMPLER`, `OTEL_BSP_*`, `OTEL_RESOURCE_ATTRIBUTES`, headers, timeouts) itself. The
  specification's default exporter is otlp; here it is none, so a service with nothing configured never
  tries to reach a collector that is not there.
* **Off**, no span is made and nothing is exported: the provider below does nothing per worker, and a
  `traceparent` a caller sent still travels on (into nested calls and the events written), so a traced
  caller's trace is not cut by an untraced service.
* **What carries the context.** RPC: the W3C `traceparent` in nameko's context data (nameko forwards
  context data on every call a worker makes, as it does `authorization` and the correlation id). Events:
  the envelope's optional `traceparent` (shared/platform/contracts.py), written with the outbox row in the business
  transaction, so the relay, the sweep and a replay from the dead-letter queue all publish it.
* **Spans.** One per worker, named after its entrypoint (`housing.review_subsidy_application`,
  `stats.on_housing_subsidy_approved`); a batch worker makes one per event, each the child of its own event's
  context, so every event stays in its own trace. The relay makes one `<exchange> publish` span per row, and
  notify one `<channel> send` span per message (services/notify/delivery.py).
* **No personal data.** Attributes are names and generated ids only (event, notification and call ids); an
  error is recorded as its type name, never its text or stack, which may quote a value.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from weakref import WeakKeyDictionary

from nameko.events import EventHandler
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT = "traceparent"
# the platform's own entrypoints that run every few seconds: a trace each would bury the cases' traces
UNTRACED = frozenset({"health", "http_livez", "http_readyz", "http_health", "http_metrics", "keep_gauges"})
REMEMBERED = 10_000  # consume spans kept for the work a consumer leaves to a loop (notify's SMS)

_propagator = TraceContextTextMapPropagator()
_tracer: trace.Tracer | None = None  # set by `configure` when spans are exported
_provider = None
_consumed: OrderedDict[str, trace.SpanContext] = OrderedDict()


def problems(environ: Mapping[str, str] = os.environ) -> list[str]:
    """What in the OpenTelemetry variables this platform cannot do (`StartupCheck` refuses to start on it)."""
    found = []
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter not in ("", "none", "otlp"):
        found.append(f"OTEL_TRACES_EXPORTER is {exporter[:40]!r}; traces are exported over otlp, or none")
    for key in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        protocol = environ.get(key, "").strip()
        if protocol and protocol != "http/protobuf":
            found.append(f"{key} is {protocol[:40]!r}; only http/protobuf is installed")
    return found


def wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the standard OpenTelemetry variables ask for traces to be exported."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "otlp":
        return True
    endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    return exporter == "" and bool(endpoint)


def configure(service: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Install the SDK with its batching OTLP/HTTP exporter once per process, if wanted; True when on."""
    global _tracer, _provider
    if _tracer is not None:
        return True
    if not wanted(environ) or problems(environ):  # problems: StartupCheck has refused to start already
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": environ.get("OTEL_SERVICE_NAME") or service})
    _provider = TracerProvider(resource=resource)
    _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(_provider)
    _tracer = _provider.get_tracer("newcitizen")
    return True


def enabled() -> bool:
    return _tracer is not None


def flush(timeout_seconds: float = 5) -> None:
    if _provider is not None:
        _provider.force_flush(int(timeout_seconds * 1000))


def context_of(traceparent) -> otel_context.Context | None:
    """The remote parent a `traceparent` names; None when absent or malformed (W3C: ignore it, start anew)."""
    if not isinstance(traceparent, str):
        return None
    parent = _propagator.extract({TRACEPARENT: traceparent})
    return parent if trace.get_current_span(parent).get_span_context().is_valid else None


def traceparent_of(span_context: trace.SpanContext) -> str:
    return f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-{int(span_context.trace_flags):02x}"


def current_traceparent(worker_data: Mapping | None = None) -> str | None:
    """The context to write with an event now: the current span's, else what the caller sent (tracing off)."""
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        return traceparent_of(span_context)
    carried = (worker_data or {}).get(TRACEPARENT)
    return carried if context_of(carried) is not None else None


def current_ids() -> tuple[str | None, str | None]:
    """(trace id, span id) in hex for a log line; (None, None) outside a span."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None, None
    return f"{span_context.trace_id:032x}", f"{span_context.span_id:016x}"


def remember(event_id: str, span_context: trace.SpanContext) -> None:
    _consumed[event_id] = span_context
    while len(_consumed) > REMEMBERED:
        _consumed.popitem(last=False)


def consumed(event_id: str | None) -> otel_context.Context | None:
    """The context of the span that consumed `event_id` in this process, for work a loop does later for it.
    Kept in memory only: work done by another replica, or after a restart, starts a trace of its own."""
    span_context = _consumed.get(event_id) if event_id else None
    return trace.set_span_in_context(NonRecordingSpan(span_context)) if span_context else None


@contextmanager
def spans(name: str, parents: Iterable, kind: SpanKind, attributes: Iterable[Mapping]) -> Iterator[list]:
    """One span per parent context (None: a root), all ended when the block ends; [] when tracing is off.
    An exception out of the block marks each failed with its type, and goes on."""
    if _tracer is None:
        yield []
        return
    started = [
        _tracer.start_span(name, context=parent, kind=kind, attributes=dict(extra))
        for parent, extra in zip(parents, attributes, strict=True)
    ]
    try:
        yield started
    except BaseException as exc:
        for span in started:
            failed(span, exc)
        raise
    finally:
        for span in started:
            span.end()


def failed(span, error: BaseException) -> None:
    span.set_status(Status(StatusCode.ERROR, type(error).__name__))
    span.set_attribute("error.type", type(error).__name__)


def publish_spans(exchange: str, rows) -> Iterator[list]:
    """The relay's `<exchange> publish` span per outbox row, each the child of the context its row stored."""
    bodies = [json.loads(row.body) for row in rows] if _tracer is not None else []
    return spans(
        f"{exchange} publish",
        (context_of(body.get(TRACEPARENT)) for body in bodies),
        SpanKind.PRODUCER,
        (_event_attributes(body, exchange) | {"messaging.operation.type": "send"} for body in bodies),
    )


def _event_attributes(envelope: Mapping, exchange: str) -> dict:
    return {
        "messaging.system": "rabbitmq",
        "messaging.destination.name": exchange,
        "messaging.rabbitmq.destination.routing_key": str(envelope.get("event_type")),
        "messaging.message.id": str(envelope.get("event_id")),
    }


class Tracing(DependencyProvider):
    """The span of each worker, current while it runs; its context goes on in the worker's context data."""

    def __init__(self):
        self.workers: WeakKeyDictionary = WeakKeyDictionary()

    def setup(self):
        self.on = configure(self.container.service_name)

    def stop(self):
        flush()

    def worker_setup(self, worker_ctx):
        entrypoint = worker_ctx.entrypoint
        if not self.on or entrypoint.method_name in UNTRACED:
            return
        name = f"{self.container.service_name}.{entrypoint.method_name}"
        if isinstance(entrypoint, EventHandler):
            envelopes = _envelopes(worker_ctx.args)
            started = [self._consume_span(name, envelope, len(envelopes)) for envelope in envelopes]
        else:
            kind = SpanKind.SERVER if isinstance(entrypoint, Rpc) else SpanKind.INTERNAL
            attributes = {"rpc.system": "nameko", "rpc.service": self.container.service_name,
                          "rpc.method": entrypoint.method_name} if kind is SpanKind.SERVER else {}  # fmt: skip
            parent = context_of(worker_ctx.data.get(TRACEPARENT))
            started = [_tracer.start_span(name, context=parent, kind=kind, attributes=attributes)]
        token = None
        if len(started) == 1:  # a batch of several has no one context: its writes carry none
            span = started[0]
            span.set_attribute("nameko.call_id", worker_ctx.call_id)
            token = otel_context.attach(trace.set_span_in_context(span))
            worker_ctx.data[TRACEPARENT] = traceparent_of(span.get_span_context())  # onward calls: children
        self.workers[worker_ctx] = (started, token)

    def _consume_span(self, name: str, envelope: Mapping, batch: int):
        attributes = _event_attributes(envelope, f"{envelope.get('source')}.events")
        attributes["messaging.operation.type"] = "process"
        if batch > 1:
            attributes["messaging.batch.message_count"] = batch
        parent = context_of(envelope.get(TRACEPARENT))
        span = _tracer.start_span(name, context=parent, kind=SpanKind.CONSUMER, attributes=attributes)
        remember(str(envelope.get("event_id")), span.get_span_context())
        return span

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        if not self.on:
            return
        started, _token = self.workers.get(worker_ctx, ((), None))
        if exc_info is not None:
            for span in started:
                failed(span, exc_info[1])
        elif isinstance(result, list) and len(result) == len(started) > 1:  # a batch's outcome per event
            for span, outcome in zip(started, result, strict=True):
                if isinstance(outcome, BaseException):
                    failed(span, outcome)

    def worker_teardown(self, worker_ctx):
        if not self.on:
            return
        started, token = self.workers.pop(worker_ctx, ((), None))
        for span in started:
            span.end()
        if token is not None:
            otel_context.detach(token)


def _envelopes(args) -> list[Mapping]:
    """The envelopes an event worker was given: one (`event_consumer`) or a list (`batch_consumer`)."""
    first = args[0] if args else None
    if isinstance(first, Mapping):
        return [first]
    return [envelope for envelope in first or () if isinstance(envelope, Mapping)]
