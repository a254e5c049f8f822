"""One approval is one trace: the five services run as processes with tracing on, exporting over OTLP/HTTP to a
collector at the network boundary, a local HTTP server that decodes the real OTLP protobuf with the
OpenTelemetry project's own message types (opentelemetry-proto)."""

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from shared.errors import ValidationError
from tests.support.platform import running_platform
from tests.support.residents import application
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e


class Collector(ThreadingHTTPServer):
    """What the services exported: every span with its service, and the raw request bodies."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), ExportHandler)
        self.spans: list[dict] = []
        self.bodies: list[bytes] = []
        self.lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def trace(self, trace_id: str) -> list[dict]:
        with self.lock:
            return [span for span in self.spans if span["trace_id"] == trace_id]


class ExportHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest.FromString(body)
        spans = []
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    spans.append(
                        {
                            "service": resource.get("service.name"),
                            "name": span.name,
                            "kind": Span.SpanKind.Name(span.kind),
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent": span.parent_span_id.hex(),
                            "attributes": {a.key: _value(a.value) for a in span.attributes},
                        }
                    )
        with self.server.lock:
            self.server.bodies.append(body)
            self.server.spans.extend(spans)
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def _value(any_value):
    return getattr(any_value, any_value.WhichOneof("value")) if any_value.WhichOneof("value") else None


@pytest.fixture(scope="module")
def collector():
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def platform(tmp_path_factory, collector):
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # ms: the SDK's default batches spans for 5 s
        "LOG_FORMAT": "json",
    }
    with running_platform(tmp_path_factory.mktemp("tracing"), extra_env=env) as running:
        yield running


def proxy(platform, sub: str, role: str, **context):
    token = platform.token(sub, role)
    return ClusterRpcProxy(platform.rpc_config(), context_data={"authorization": token, **context}, timeout=30)


def test_one_approval_is_one_trace_across_housing_notify_and_stats(platform, collector):
    form = application()
    with proxy(platform, "caseworker", "caseworker") as rpc:
        submitted = rpc.housing.submit_subsidy_application(form)
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    with proxy(platform, "reviewer", "reviewer", traceparent=f"00-{trace_id}-{caller_span}-01") as rpc:
        approved = rpc.housing.review_subsidy_application(submitted["application_id"], "approve")
    assert approved["status"] == "approved"

    def covered():
        spans = collector.trace(trace_id)
        kinds = {(span["service"], span["kind"]) for span in spans}
        wanted = {
            ("housing", "SPAN_KIND_SERVER"),
            ("housing", "SPAN_KIND_PRODUCER"),
            ("notify", "SPAN_KIND_CONSUMER"),
            ("notify", "SPAN_KIND_CLIENT"),
            ("stats", "SPAN_KIND_CONSUMER"),
        }
        return spans if wanted <= kinds else None

    spans = wait_for(covered, timeout=30, what="spans of housing, notify and stats in the approval's trace")
    by_id = {span["span_id"]: span for span in spans}
    (review,) = [span for span in spans if span["kind"] == "SPAN_KIND_SERVER"]
    assert review["name"] == "housing.review_subsidy_application" and review["parent"] == caller_span
    (publish,) = [span for span in spans if span["kind"] == "SPAN_KIND_PRODUCER"]
    assert publish["name"] == "housing.events publish" and publish["parent"] == review["span_id"]
    event_id = publish["attributes"]["messaging.message.id"]
    consumers = {span["service"]: span for span in spans if span["kind"] == "SPAN_KIND_CONSUMER"}
    assert consumers["notify"]["name"].startswith("notify.on_") and consumers["stats"]["name"] == (
        "stats.on_housing_subsidy_approved"
    )
    for consumer in consumers.values():
        assert consumer["parent"] == review["span_id"] and consumer["attributes"]["messaging.message.id"] == event_id
    (send,) = [span for span in spans if span["kind"] == "SPAN_KIND_CLIENT"]
    assert send["name"] == "sms send" and by_id[send["parent"]] is consumers["notify"]

    # the event is in this trace and in no other: every span that names it is here
    with collector.lock:
        naming = {s["trace_id"] for s in collector.spans if s["attributes"].get("messaging.message.id") == event_id}
    assert naming == {trace_id}

    # no ID number or phone number in anything exported, in any spelling the form has
    with collector.lock:
        exported = b"".join(collector.bodies)
    for secret in (form["id_number"], form["phone"], form["phone"][-8:]):
        assert secret.encode() not in exported


def test_a_worker_s_log_lines_carry_its_trace_id(platform):
    form = application()
    with proxy(platform, "caseworker", "caseworker") as rpc:
        submitted = rpc.housing.submit_subsidy_application(form)
    trace_id = secrets.token_hex(16)
    with proxy(platform, "reviewer", "reviewer", traceparent=f"00-{trace_id}-{secrets.token_hex(8)}-01") as rpc:
        with pytest.raises(ValidationError):  # a decision nobody may take: housing logs why, inside the worker
            rpc.housing.review_subsidy_application(submitted["application_id"], "no-such-decision")

    def logged():
        lines = [json.loads(line) for line in platform.logs().splitlines() if line.startswith("{")]
        return [line for line in lines if line.get("trace_id") == trace_id]

    lines = wait_for(logged, what="a housing log line with the call's trace id")
    assert {line["service"] for line in lines} == {"housing"} and all(line["span_id"] for line in lines)
