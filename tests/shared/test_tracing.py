"""Tracing is off unless the standard OpenTelemetry variables ask for it; off, a caller's trace context still
travels on; log lines carry the trace and span they were written in. (The spans of a whole approval, exported
by the services as processes: tests/e2e/test_tracing.py.)"""

import logging

import pytest
from nameko.rpc import RpcProxy
from nameko.standalone.rpc import ServiceRpcProxy
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from shared.platform import tracing
from shared.platform.config import ConfigurationError
from shared.platform.db import Database
from shared.platform.logs import ContextFilter
from shared.platform.rpc import rpc
from shared.platform.service import PlatformService
from shared.platform.startup import check
from tests.shared.test_outbox_and_consumer import traced  # noqa: F401 (the fixture)
from tests.support.waiting import wait_for

TRACEPARENT = f"00-{'4b' * 16}-00f067aa0ba902b7-01"


@pytest.mark.parametrize(
    ("environ", "on"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, True),
    ],
)
def test_on_only_when_the_standard_variables_ask(environ, on):
    assert tracing.wanted(environ) is on


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, ["OTEL_TRACES_EXPORTER"]),
        (
            {
                "OTEL_TRACES_EXPORTER": "otlp",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "x",
            },
            ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"],
        ),
    ],
)
def test_an_exporter_not_installed_refuses_the_start_naming_each_variable(environ, named, monkeypatch):
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigurationError) as refused:
        check({"AMQP_URI": "amqp://x", "DATABASE_URL": "sqlite://", "WEB_SERVER_ADDRESS": "127.0.0.1:0"})
    message = str(refused.value)
    assert [key for key in named if f"{key} is" in message] == named
    assert not tracing.configure("housing", environ)


def test_off_a_caller_s_traceparent_travels_on_and_a_malformed_one_is_dropped():
    assert not tracing.enabled()
    assert tracing.current_traceparent({"traceparent": TRACEPARENT}) == TRACEPARENT
    assert tracing.current_traceparent({"traceparent": "00-not-a-trace-01"}) is None
    assert tracing.current_traceparent({}) is None and tracing.current_traceparent(None) is None


def test_inside_a_span_the_span_s_context_is_what_is_written_and_logged():
    span_context = SpanContext(0x4B * 0x01010101010101010101010101010101, 0x1234, False, TraceFlags(1))
    token = otel_context.attach(trace.set_span_in_context(NonRecordingSpan(span_context)))
    try:
        assert tracing.current_traceparent({"traceparent": TRACEPARENT}) == f"00-{'4b' * 16}-{0x1234:016x}-01"
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "line", (), None)
        ContextFilter("housing").filter(record)
        assert (record.trace_id, record.span_id) == ("4b" * 16, f"{0x1234:016x}")
    finally:
        otel_context.detach(token)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "line", (), None)
    ContextFilter("housing").filter(record)
    assert (record.trace_id, record.span_id) == (None, None)


class Back(PlatformService):
    name = "trace_back"
    db = Database()

    @rpc(read_only=True)
    def ping(self) -> str:
        return "pong"


class Front(PlatformService):
    name = "trace_front"
    db = Database()
    back = RpcProxy("trace_back")

    @rpc(read_only=True)
    def relay(self) -> str:
        return self.back.ping()


def test_an_onward_rpc_is_the_child_of_the_worker_that_makes_it(traced, container_factory, service_config, tmp_path):  # noqa: F811
    for service in (Back, Front):
        container_factory(service, service_config(f"sqlite:///{tmp_path / service.name}.db")).start()
    config = service_config(f"sqlite:///{tmp_path / 'client'}.db")
    with ServiceRpcProxy("trace_front", config, context_data={"traceparent": TRACEPARENT}) as front:
        assert front.relay() == "pong"

    def finished():  # a worker's span ends after its reply has gone: the caller can be first
        spans = {span.name: span for span in traced.get_finished_spans()}
        return spans if {"trace_front.relay", "trace_back.ping"} <= set(spans) else None

    spans = wait_for(finished, what="both workers' spans finished")
    relay, ping = spans["trace_front.relay"], spans["trace_back.ping"]
    assert f"{relay.context.trace_id:032x}" == f"{ping.context.trace_id:032x}" == "4b" * 16
    assert relay.parent.span_id == 0x00F067AA0BA902B7 and ping.parent.span_id == relay.context.span_id
    assert ping.attributes["rpc.method"] == "ping" and "nameko.call_id" in ping.attributes
