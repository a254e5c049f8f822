"""The batching consumer (shared/platform/batch_consumer.py) against a real RabbitMQ vhost, SQLite and PostgreSQL.

The events are published before the listener starts, so the broker hands them out together and the first
batch holds all of them (EVENT_BATCH_WAIT_MS lets it fill to EVENT_BATCH_SIZE)."""

import json

import pytest
from kombu import Connection

from shared.platform.contracts import build_envelope
from shared.platform.models import ProcessedEvent
from shared.platform.topology import consumer_queue
from tests.shared.sample_services import ATTEMPTS, BATCHES, BatchListenerService, Received, SamplerService
from tests.shared.test_outbox_and_consumer import (
    _collect,
    count,
    databases,  # noqa: F401 (the fixture)
    received,
    traced,  # noqa: F401 (the fixture)
)
from tests.support.broker import publish_raw
from tests.support.waiting import wait_for

BATCH = 6


@pytest.fixture
def listener(container_factory, service_config, databases):  # noqa: F811
    """Starts the batching listener on demand, after the test has queued its events."""
    ATTEMPTS.clear()
    BATCHES.clear()
    sampler = container_factory(SamplerService, service_config(databases["sampler"]))
    sampler.start()  # declares the listener's queue (the contract names it a consumer)
    config = service_config(databases["listener"], EVENT_BATCH_SIZE=BATCH, EVENT_BATCH_WAIT_MS=2000)

    def start():
        container = container_factory(BatchListenerService, config)
        container.start()
        return container

    return {"start": start, "config": config, "url": databases["listener"]}


def envelope(key: str, **data) -> dict:
    return build_envelope("sampler", "thing_happened", {"key": key, "fail_times": 0, **data})


def publish(amqp_uri: str, *envelopes) -> None:
    for body in envelopes:
        publish_raw(amqp_uri, "sampler", "thing_happened", body)


def queued(config: dict) -> int:
    """Messages in the listener's queue, ready or unacked (after its container stopped: all of them)."""
    with Connection(config["AMQP_URI"]) as connection:
        queue = consumer_queue("sampler", "thing_happened", "listener", config)(connection.channel())
        return queue.queue_declare(passive=True).message_count


def test_a_poison_event_in_a_batch_is_dead_lettered_alone_and_the_rest_commits_once(listener):
    amqp = listener["config"]["AMQP_URI"]
    good = [envelope(f"good-{i}") for i in range(BATCH - 1)]
    publish(amqp, *good[:2], envelope("poison", permanent=True), *good[2:])
    container = listener["start"]()

    letters = wait_for(lambda: _collect(amqp, 1), timeout=20)
    assert wait_for(lambda: len(received(listener["url"])) == BATCH - 1)
    assert len(letters) == 1
    headers, body = letters[0]
    assert json.loads(body)["data"]["key"] == "poison"
    assert headers["x-dead-letter-reason"].startswith("permanent: PermanentError: this thing can never be handled")
    assert BATCHES[0] == ["good-0", "good-1", "poison", "good-2", "good-3", "good-4"], "one batch of all six"
    assert received(listener["url"]) == {e["data"]["key"]: e["event_id"] for e in good}
    assert count(listener["url"], ProcessedEvent) == BATCH - 1, "the poison event left no ledger row"
    assert ATTEMPTS["poison"] == 2, "tried in the batch, then alone: never retried"
    container.stop()
    assert queued(listener["config"]) == 0, "every message was acked"


def test_traced_each_event_of_a_batch_has_its_span_in_its_own_trace_and_the_poison_s_fails(traced, listener):  # noqa: F811
    amqp = listener["config"]["AMQP_URI"]
    trace_ids = [f"{i + 1:032x}" for i in range(BATCH)]
    events = [
        build_envelope(
            "sampler",
            "thing_happened",
            {"key": f"traced-{i}", "fail_times": 0, "permanent": i == 2},
            traceparent=f"00-{trace_id}-{i + 1:016x}-01",
        )
        for i, trace_id in enumerate(trace_ids)
    ]
    publish(amqp, *events)
    container = listener["start"]()
    assert wait_for(lambda: len(received(listener["url"])) == BATCH - 1)
    wait_for(lambda: _collect(amqp, 1), timeout=20)

    spans = wait_for(lambda: [s for s in traced.get_finished_spans() if s.name == "listener.on_sampler_thing_happened"])
    by_trace = {f"{span.context.trace_id:032x}": span for span in spans}
    assert set(by_trace) == set(trace_ids) and len(spans) == BATCH, "one span per event, each in its own trace"
    for i, trace_id in enumerate(trace_ids):
        span = by_trace[trace_id]
        assert span.parent.span_id == i + 1 and span.attributes["messaging.batch.message_count"] == BATCH
        assert span.attributes["messaging.message.id"] == events[i]["event_id"]
        failed = span.status.status_code.name == "ERROR"
        assert failed == (i == 2) and span.attributes.get("error.type") == ("PermanentError" if i == 2 else None)
        assert "never be handled" not in str(span.status.description), "the type only, never the text"
    container.stop()


def test_an_event_the_contract_refuses_never_joins_the_batch_and_the_rest_commits_in_one(listener):
    amqp = listener["config"]["AMQP_URI"]
    bad = envelope("bad")
    bad["data"] = {"key": 5, "fail_times": "many"}
    good = [envelope(f"good-{i}") for i in range(BATCH)]
    publish(amqp, good[0], bad, *good[1:])
    container = listener["start"]()

    letters = wait_for(lambda: _collect(amqp, 1), timeout=20)
    assert wait_for(lambda: len(received(listener["url"])) == BATCH)
    assert letters[0][0]["x-dead-letter-reason"].startswith("invalid:")
    assert BATCHES == [[e["data"]["key"] for e in good]], "one batch, one transaction"
    assert all(ATTEMPTS[e["data"]["key"]] == 1 for e in good)
    container.stop()
    assert queued(listener["config"]) == 0


def test_duplicates_in_a_batch_and_a_redelivered_batch_are_applied_once(listener):
    amqp = listener["config"]["AMQP_URI"]
    twice = envelope("twice")
    others = [envelope(f"other-{i}") for i in range(BATCH - 3)]
    publish(amqp, twice, *others, twice, twice)
    container = listener["start"]()
    assert wait_for(lambda: len(received(listener["url"])) == BATCH - 2)
    assert BATCHES[0] == ["twice", *(e["data"]["key"] for e in others)], "the repeats were left out of the batch"

    publish(amqp, twice, *others, envelope("marker"))  # the whole batch again, then one new event
    assert wait_for(lambda: "marker" in received(listener["url"]))
    assert all(n == 1 for n in ATTEMPTS.values()), ATTEMPTS
    assert count(listener["url"], ProcessedEvent) == BATCH - 1
    assert count(listener["url"], Received) == BATCH - 1
    container.stop()
    assert queued(listener["config"]) == 0
