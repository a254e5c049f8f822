"""One approval is one trace: the five services run as processes with tracing on, exporting over OTLP/HTTP to a
collector at the network boundary (tests/support/otlp_collector.py)."""

import json
import secrets

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from shared.platform.errors import ValidationError
from tests.support.otlp_collector import running_collector
from tests.support.platform import running_platform
from tests.support.residents import application
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def collector():
    with running_collector() as server:
        yield server


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
    assert consumers["notify"]["name"] == "notify.on_subsidy_approved"
    assert consumers["stats"]["name"] == "stats.on_housing_subsidy_approved"
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
