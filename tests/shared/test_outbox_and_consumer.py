"""The outbox and the reliable consumer against a real RabbitMQ vhost and real databases."""

import json

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.platform.contracts import build_envelope
from shared.platform.db import make_engine
from shared.platform.event_signing import SIGNATURE_HEADER, EventSigner, dev_signing_key
from shared.platform.models import OutboxMessage, ProcessedEvent, SharedBase
from tests.shared.sample_services import ATTEMPTS, ListenerService, Received, SampleBase, SamplerService
from tests.support.broker import drain_dead_letters, publish_raw
from tests.support.waiting import wait_for


@pytest.fixture
def databases(db_url, tmp_path, request):
    """The sampler and the listener each get their own database, as services do."""
    if db_url.startswith("sqlite"):
        urls = {"sampler": f"sqlite:///{tmp_path / 'sampler.db'}", "listener": f"sqlite:///{tmp_path / 'listener.db'}"}
    else:
        urls = {"sampler": db_url, "listener": request.getfixturevalue("postgres_url")}
    for url in urls.values():
        engine = make_engine(url)
        SharedBase.metadata.create_all(engine)
        SampleBase.metadata.create_all(engine)
        engine.dispose()
    return urls


@pytest.fixture
def platform(container_factory, service_config, databases):
    ATTEMPTS.clear()
    sampler_config = service_config(databases["sampler"])
    listener_config = service_config(databases["listener"])
    listener = container_factory(ListenerService, listener_config)
    listener.start()
    sampler = container_factory(SamplerService, sampler_config)
    sampler.start()
    return {"sampler": sampler_config, "listener": listener_config, "urls": databases}


def received(url: str) -> dict[str, str]:
    engine = make_engine(url)
    with Session(engine) as session:
        rows = {row.key: row.event_id for row in session.scalars(select(Received))}
    engine.dispose()
    return rows


def count(url: str, model) -> int:
    engine = make_engine(url)
    with Session(engine) as session:
        value = session.scalar(select(func.count()).select_from(model))
    engine.dispose()
    return value


def test_event_arrives_exactly_once_even_when_delivered_again(platform):
    with ServiceRpcProxy("sampler", platform["sampler"]) as sampler:
        event_id = sampler.make("once")
    assert wait_for(lambda: "once" in received(platform["urls"]["listener"]))

    envelope = json.loads(_outbox_body(platform["urls"]["sampler"], event_id))
    for _ in range(2):
        publish_raw(platform["sampler"]["AMQP_URI"], "sampler", "thing_happened", envelope)
    with ServiceRpcProxy("sampler", platform["sampler"]) as sampler:
        sampler.make("after")  # a marker: consumed after the duplicates, since the queue is FIFO
    assert wait_for(lambda: "after" in received(platform["urls"]["listener"]))

    assert received(platform["urls"]["listener"])["once"] == event_id
    assert ATTEMPTS["once"] == 1, "the duplicates must be skipped before the handler runs"
    assert count(platform["urls"]["listener"], ProcessedEvent) == 2
    assert wait_for(lambda: _unpublished(platform["urls"]["sampler"]) == 0)


def test_transient_error_is_retried_then_succeeds(platform):
    with ServiceRpcProxy("sampler", platform["sampler"]) as sampler:
        sampler.make("flaky", fail_times=2)
    assert wait_for(lambda: "flaky" in received(platform["urls"]["listener"]))
    assert ATTEMPTS["flaky"] == 3
    assert drain_dead_letters(platform["listener"]["AMQP_URI"], "listener") == []


def test_persistent_failure_ends_in_dead_letter_queue_with_reason_and_consumer_goes_on(platform):
    amqp = platform["listener"]["AMQP_URI"]
    with ServiceRpcProxy("sampler", platform["sampler"]) as sampler:
        sampler.make("doomed", fail_times=99)
        sampler.make("hopeless", permanent=True)
    letters = wait_for(lambda: _collect(amqp, 2), timeout=20)
    reasons = {json.loads(body)["data"]["key"]: headers["x-dead-letter-reason"] for headers, body in letters}
    assert reasons["doomed"].startswith("exhausted 3 attempts: RuntimeError: flaky downstream")
    assert reasons["hopeless"].startswith("permanent: PermanentError")
    assert ATTEMPTS["doomed"] == 3 and ATTEMPTS["hopeless"] == 1
    headers = dict(letters[0][0])
    assert headers["x-original-queue"] == "evt-sampler-thing_happened--listener"

    with ServiceRpcProxy("sampler", platform["sampler"]) as sampler:
        sampler.make("still-alive")
    assert wait_for(lambda: "still-alive" in received(platform["urls"]["listener"]))
    assert "doomed" not in received(platform["urls"]["listener"])


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        (None, "untrusted: unsigned: no x-event-signature header"),
        ("stats", "untrusted: signed with 'stats.dev-only', a key of 'stats', not of 'sampler'"),
        ("another body", "untrusted: the signature under 'sampler.dev-only' does not match the body"),
    ],
)
def test_an_event_not_signed_by_its_source_is_dead_lettered_and_never_handled(platform, signature, reason):
    """What a compromised service (or anyone with write access to an exchange) could put on a queue."""
    amqp = platform["listener"]["AMQP_URI"]
    envelope = build_envelope("sampler", "thing_happened", {"key": "forged", "fail_times": 0})
    headers = {}
    if signature == "stats":
        headers[SIGNATURE_HEADER] = EventSigner(dev_signing_key("stats")).sign(json.dumps(envelope))
    elif signature == "another body":
        other = build_envelope("sampler", "thing_happened", {"key": "genuine", "fail_times": 0})
        headers[SIGNATURE_HEADER] = EventSigner(dev_signing_key("sampler")).sign(json.dumps(other))
    publish_raw(amqp, "sampler", "thing_happened", envelope, headers=headers, sign=False)
    [(letter_headers, _body)] = wait_for(lambda: _collect(amqp, 1))
    assert letter_headers["x-dead-letter-reason"] == reason
    assert sum(ATTEMPTS.values()) == 0 and "forged" not in received(platform["urls"]["listener"])

    with ServiceRpcProxy("sampler", platform["sampler"]) as sampler:  # the service's own events still pass
        sampler.make("signed")
    assert wait_for(lambda: "signed" in received(platform["urls"]["listener"]))


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        ({"not": "an envelope"}, "application/json", "invalid"),
        (b"\x00\xffnot json at all", "application/json", "undecodable"),
        ("plain text", "text/plain", "undecodable"),
        ("UNKNOWN_VERSION", "application/json", "invalid"),
        ("INVALID_DATA", "application/json", "invalid"),
        ("OVERSIZED", "application/json", "oversized"),
    ],
)
def test_poison_message_is_dead_lettered_without_retry(platform, body, content_type, reason):
    amqp = platform["listener"]["AMQP_URI"]
    if body == "UNKNOWN_VERSION":
        body = build_envelope("sampler", "thing_happened", {"key": "v", "fail_times": 0}) | {"version": 7}
    elif body == "INVALID_DATA":
        body = build_envelope("sampler", "thing_happened", {"key": "v", "fail_times": 0})
        body["data"] = {"key": 5, "fail_times": "many"}
    elif body == "OVERSIZED":
        body = build_envelope("sampler", "thing_happened", {"key": "x" * 300_000, "fail_times": 0})
    publish_raw(amqp, "sampler", "thing_happened", body, content_type=content_type)
    letters = wait_for(lambda: _collect(amqp, 1))
    assert len(letters) == 1
    assert letters[0][0]["x-dead-letter-reason"].startswith(reason)
    assert sum(ATTEMPTS.values()) == 0, "a poison message never reaches the handler"

    with ServiceRpcProxy("sampler", platform["sampler"]) as sampler:
        sampler.make("next")
    assert wait_for(lambda: "next" in received(platform["urls"]["listener"]))


def test_sweep_publishes_rows_left_behind_by_a_crash(container_factory, service_config, databases):
    """The row committed but the process died before publishing: a restarted service's sweep sends it."""
    ATTEMPTS.clear()
    engine = make_engine(databases["sampler"])
    envelope = build_envelope("sampler", "thing_happened", {"key": "orphan", "fail_times": 0})
    with Session(engine) as session:
        session.add(
            OutboxMessage(
                event_id=envelope["event_id"],
                exchange="sampler.events",
                routing_key="thing_happened",
                body=json.dumps(envelope),
                attempts=0,
            )
        )
        session.commit()
    engine.dispose()

    listener = container_factory(ListenerService, service_config(databases["listener"]))
    listener.start()
    sampler = container_factory(SamplerService, service_config(databases["sampler"]))
    sampler.start()

    assert wait_for(lambda: "orphan" in received(databases["listener"]))
    assert received(databases["listener"])["orphan"] == envelope["event_id"]
    assert wait_for(lambda: _unpublished(databases["sampler"]) == 0)


def test_rolled_back_business_change_publishes_nothing(container_factory, service_config, databases):
    sampler = container_factory(SamplerService, service_config(databases["sampler"]))
    sampler.start()
    engine = make_engine(databases["sampler"])
    with Session(engine) as session:
        from shared.platform.outbox import OutboxWriter

        writer = OutboxWriter(session, "sampler", None, [])
        writer.add("thing_happened", {"key": "never", "fail_times": 0})
        session.rollback()
    assert count(databases["sampler"], OutboxMessage) == 0
    engine.dispose()


CALLER_TRACE = f"00-{'4b' * 16}-00f067aa0ba902b7-01"


@pytest.fixture
def traced(monkeypatch):
    """Tracing on in this process, into the SDK's in-memory exporter (a provider of the test's own, never the
    global one); what the services export as processes is checked over OTLP in tests/e2e/test_tracing.py."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from shared.platform import tracing

    exporter, provider = InMemorySpanExporter(), TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "_tracer", provider.get_tracer("test"))
    monkeypatch.setattr(tracing, "_provider", provider)
    return exporter


def test_traced_the_event_carries_the_rpc_span_and_the_consumer_is_its_child(traced, platform):
    with ServiceRpcProxy("sampler", platform["sampler"], context_data={"traceparent": CALLER_TRACE}) as sampler:
        event_id = sampler.make("traced")
    assert wait_for(lambda: "traced" in received(platform["urls"]["listener"]))

    def spans_named(*names):
        finished = {span.name: span for span in traced.get_finished_spans()}
        return finished if set(names) <= set(finished) else None

    spans = wait_for(lambda: spans_named("sampler.make", "sampler.events publish", "listener.on_thing_happened"))
    make, publish, consume = spans["sampler.make"], spans["sampler.events publish"], spans["listener.on_thing_happened"]
    assert f"{make.context.trace_id:032x}" == "4b" * 16 and make.parent.span_id == 0x00F067AA0BA902B7
    stored = json.loads(_outbox_body(platform["urls"]["sampler"], event_id))["traceparent"]
    assert stored == f"00-{'4b' * 16}-{make.context.span_id:016x}-01"
    assert publish.parent.span_id == consume.parent.span_id == make.context.span_id
    assert consume.attributes["messaging.message.id"] == event_id


def test_untraced_a_caller_s_trace_context_still_goes_into_the_event(platform):
    with ServiceRpcProxy("sampler", platform["sampler"], context_data={"traceparent": CALLER_TRACE}) as sampler:
        event_id = sampler.make("passed-on")
    assert json.loads(_outbox_body(platform["urls"]["sampler"], event_id))["traceparent"] == CALLER_TRACE
    assert wait_for(lambda: "passed-on" in received(platform["urls"]["listener"]))


def _collect(amqp_uri, expected):
    _collect.seen = getattr(_collect, "seen", [])
    _collect.seen.extend(drain_dead_letters(amqp_uri, "listener"))
    if len(_collect.seen) >= expected:
        seen, _collect.seen = _collect.seen, []
        return seen
    return None


def _outbox_body(url, event_id):
    engine = make_engine(url)
    with Session(engine) as session:
        body = session.get(OutboxMessage, event_id).body
    engine.dispose()
    return body


def _unpublished(url):
    engine = make_engine(url)
    with Session(engine) as session:
        value = session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.published_at.is_(None))
        )
    engine.dispose()
    return value
