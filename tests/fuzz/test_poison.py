"""Poison messages published straight onto every consumer's event queue: each lands in the consuming
service's dead-letter queue with a reason, and the consumer keeps going."""

import json

import pytest
import requests

from shared.platform.config import SERVICES
from shared.platform.contracts import load_all
from shared.platform.topology import consumer_queue_name
from tests.support.broker import drain_dead_letters, publish_to_queue
from tests.support.platform import running_platform
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

UNSIGNED = "unsigned"
SUBSCRIPTIONS = [
    (c.source, c.event_type, consumer) for c in load_all().all() for consumer in c.consumers if consumer in SERVICES
]


def poisons(source, event_type):
    envelope = {
        "event_id": "5b0c8f3e-7d1c-4c1e-9d7e-2b9f4f7d1a01",
        "event_type": event_type,
        "source": source,
        "version": 1,
        "occurred_at": "2025-01-01T00:00:00+00:00",
        "correlation_id": None,
        "data": {},
    }
    return {
        "not-json": (b"\x00\xff{not json", "application/json", "undecodable"),
        "wrong-envelope": (json.dumps({"hello": "world"}), "application/json", "invalid"),
        "unknown-version": (json.dumps(envelope | {"version": 99}), "application/json", "invalid"),
        "invalid-data": (json.dumps(envelope | {"data": {"unexpected": ["x"]}}), "application/json", "invalid"),
        "oversized": (json.dumps(envelope | {"data": {"blob": "x" * 400_000}}), "application/json", "oversized"),
        # an empty body arrives as text whatever its label; re-publishing it as "binary" failed, and the
        # message was requeued for ever (found by tests/fuzz/test_broker_fuzz.py)
        "empty-binary": (b"", "application/data", "invalid", "binary"),
        # a well-formed event that its source did not sign: anyone with write access to a queue (UNSIGNED)
        UNSIGNED: (json.dumps(envelope), "application/json", "untrusted"),
    }


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    with running_platform(tmp_path_factory.mktemp("poison")) as running:
        yield running


@pytest.mark.parametrize(
    ("source", "event_type", "consumer"), SUBSCRIPTIONS, ids=[f"{s}.{e}->{c}" for s, e, c in SUBSCRIPTIONS]
)
def test_poison_is_dead_lettered_with_reason_and_consumer_survives(platform, source, event_type, consumer):
    cases = poisons(source, event_type)
    queue = consumer_queue_name(source, event_type, consumer)
    for name, (body, content_type, _, *encoding) in cases.items():
        publish_to_queue(
            platform.amqp_uri, queue, body, content_type=content_type, content_encoding=(*encoding, "utf-8")[0],
            signed_as=None if name == UNSIGNED else source,
        )  # fmt: skip
    collected = []

    def all_dead_lettered():
        collected.extend(drain_dead_letters(platform.amqp_uri, consumer))
        mine = [h for h, _ in collected if h.get("x-original-queue") == queue]
        return mine if len(mine) >= len(cases) else None

    headers = wait_for(all_dead_lettered, timeout=30)
    assert headers, f"expected {len(cases)} dead letters from {consumer}, got {collected}"
    reasons = sorted(h["x-dead-letter-reason"].split(":", 1)[0] for h in headers)
    assert reasons == sorted(case[2] for case in cases.values())
    health = requests.get(f"{platform.base_url(consumer)}/health", timeout=5)
    assert health.status_code == 200
