"""`newcitizen dlq list` / `dlq replay` against a real RabbitMQ vhost, and the whole repair story: an event
the consumer dead-letters is replayed after the fix and handled exactly once."""

import json
from datetime import timedelta

import pytest
from kombu import Connection, Exchange, Producer, Queue
from nameko.testing.utils import find_free_port

from ops import dlq
from shared.platform.contracts import build_envelope, load_all
from shared.platform.db import Database
from shared.platform.errors import PermanentError
from shared.platform.event_consumer import ATTEMPTS_HEADER, event_consumer
from shared.platform.models import utcnow
from shared.platform.retention import dlq_replay_window
from shared.platform.service import PlatformService
from tests.support.broker import signed_by
from tests.support.databases import migrate
from tests.support.waiting import wait_for

ORIGINAL = "evt-housing-subsidy_approved--stats"


def approved_envelope() -> dict:
    load_all()
    return build_envelope(
        "housing",
        "subsidy_approved",
        {
            "application_id": "app-1",
            "resident_id": "r" * 16,
            "town": "宗汉街道",
            "category": "new_graduate",
            "household_size": 3,
            "monthly_subsidy_fen": 120000,
            "approved_at": "2025-03-01T02:00:00+00:00",
            "policy_ref": "assumed-2025",
        },
    )


def declare(uri: str, *names: str, queue_type: str = "classic") -> None:
    arguments = {"x-queue-type": queue_type} if queue_type != "classic" else None
    with Connection(uri) as connection:
        channel = connection.channel()
        for name in names:
            Queue(name, durable=True, channel=channel, queue_arguments=arguments).declare()


def put(uri: str, queue: str, body: bytes, headers: dict) -> None:
    with Connection(uri, transport_options={"confirm_publish": True}) as connection:
        Producer(connection.channel()).publish(
            body,
            exchange="",
            routing_key=queue,
            headers=headers,
            serializer=None,
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=2,
        )


def drain(uri: str, queue: str) -> list:
    got = []
    with Connection(uri) as connection:
        channel = connection.channel()
        channel.auto_decode = False
        while (message := channel.basic_get(queue=queue, no_ack=True)) is not None:
            got.append(message)
    return got


def dead_letter_headers(reason: str = "permanent: Boom: bad data") -> dict:
    return {
        "x-dead-letter-reason": reason,
        "x-original-queue": ORIGINAL,
        "x-original-exchange": "housing.events",
        "x-original-routing-key": "subsidy_approved",
        "x-consumer": "stats.on_subsidy_approved",
        ATTEMPTS_HEADER: 3,
        "x-dead-lettered-at": utcnow().replace(microsecond=0).isoformat(),  # within the replay window
        "nameko.call_id_stack": ["housing.relay.1"],
    }


def test_list_shows_reason_and_origin_without_consuming(platform_env, rabbit_config, cli):
    uri = rabbit_config["AMQP_URI"]
    declare(uri, "stats.dlq", ORIGINAL)
    envelope = approved_envelope()
    put(uri, "stats.dlq", json.dumps(envelope).encode(), dead_letter_headers())

    code, out, _ = cli("dlq", "list", "--json")
    assert code == 0
    [letter] = json.loads(out)
    assert letter["queue"] == "stats.dlq"
    assert letter["original_queue"] == ORIGINAL
    assert letter["reason"] == "permanent: Boom: bad data"
    assert letter["attempts"] == 3
    assert letter["event_id"] == envelope["event_id"]
    assert letter["event_type"] == "subsidy_approved"

    code, out, _ = cli("dlq", "list")  # the table form names the same facts
    assert code == 0 and "stats.dlq" in out and ORIGINAL in out and "permanent: Boom" in out
    assert dlq.depths(uri, ["stats"]) == {"stats": 1}  # browsing left the message where it was


@pytest.mark.parametrize("queue_type", ["classic", "quorum"])  # quorum: the Kubernetes install
def test_replay_moves_the_raw_body_back_and_empties_the_dlq(platform_env, rabbit_config, cli, queue_type):
    uri = rabbit_config["AMQP_URI"]
    declare(uri, "stats.dlq", ORIGINAL, queue_type=queue_type)
    body = json.dumps(approved_envelope(), ensure_ascii=False).encode()
    put(uri, "stats.dlq", body, dead_letter_headers())
    code, out, _ = cli("dlq", "list")  # browsing first must leave the message for the replay
    assert code == 0 and "permanent: Boom" in out

    code, out, _ = cli("dlq", "replay", "--service", "stats")  # without --yes: says what it would do
    assert code == 0 and "would replay up to 1" in out
    assert dlq.depths(uri, ["stats"]) == {"stats": 1}

    code, out, _ = cli("dlq", "replay", "--service", "stats", "--yes")
    assert code == 0, out
    assert "replayed 1 message(s); 0 left" in out
    assert dlq.depths(uri, ["stats"]) == {"stats": 0}
    [message] = drain(uri, ORIGINAL)
    assert message.body == body
    headers = message.properties["application_headers"]
    assert headers["x-newcitizen-replays"] == 1
    assert "x-dead-letter-reason" not in headers and ATTEMPTS_HEADER not in headers  # a fresh start
    assert headers["nameko.call_id_stack"] == ["housing.relay.1"]  # the rest of the context is kept
    assert message.properties["content_type"] == "application/json"


def test_a_message_whose_queue_is_gone_stays_in_the_dlq(platform_env, rabbit_config, cli):
    uri = rabbit_config["AMQP_URI"]
    declare(uri, "stats.dlq")  # the original queue does not exist: mandatory publish is returned
    put(uri, "stats.dlq", b'{"event_id": "x"}', dead_letter_headers())
    put(uri, "stats.dlq", b"not json at all", {"x-dead-letter-reason": "undecodable: DecodeError"})

    code, out, _ = cli("dlq", "replay", "--service", "stats", "--yes")
    assert code == 1
    assert "replayed 0 message(s); 2 left" in out
    assert "publish not confirmed" in out and "no x-original-queue header" in out
    assert dlq.depths(uri, ["stats"]) == {"stats": 2}
    bodies = [letter.body for letter in dlq.list_dead_letters(uri, "stats")]
    assert bodies == [b'{"event_id": "x"}', b"not json at all"]  # both kept, order kept


def test_replay_of_one_queue_leaves_the_others(platform_env, rabbit_config, cli):
    uri = rabbit_config["AMQP_URI"]
    other = "evt-housing-subsidy_rejected--stats"
    declare(uri, "stats.dlq", ORIGINAL, other)
    put(uri, "stats.dlq", b'{"n": 1}', dead_letter_headers())
    put(uri, "stats.dlq", b'{"n": 2}', {**dead_letter_headers(), "x-original-queue": other})

    code, out, _ = cli("dlq", "replay", "--service", "stats", "--queue", other, "--yes")
    assert code == 0, out
    assert "replayed 1 message(s); 0 left" in out and f"1 message(s) from other queues than {other}" in out
    assert [message.body for message in drain(uri, other)] == [b'{"n": 2}']
    assert drain(uri, ORIGINAL) == []
    assert [letter.original_queue for letter in dlq.list_dead_letters(uri, "stats")] == [ORIGINAL]


def test_a_dead_letter_older_than_the_replay_window_stays_and_a_recent_one_is_replayed(
    platform_env, rabbit_config, cli
):
    uri = rabbit_config["AMQP_URI"]
    declare(uri, "stats.dlq", ORIGINAL)
    now = utcnow()
    beyond = now - dlq_replay_window({}) - timedelta(hours=1)
    recent = json.dumps(approved_envelope()).encode()
    old_event = json.dumps({**approved_envelope(), "occurred_at": beyond.isoformat()}).encode()
    put(uri, "stats.dlq", old_event, dead_letter_headers())  # dead-lettered just now, but occurred long ago
    put(uri, "stats.dlq", recent, {**dead_letter_headers(), "x-death": [{"time": beyond, "queue": "stats.retry.1000"}]})
    put(uri, "stats.dlq", recent, dead_letter_headers())

    code, out, _ = cli("dlq", "replay", "--service", "stats", "--yes")
    assert code == 1
    assert "replayed 1 message(s); 2 left" in out
    assert out.count("too old to replay") == 2 and f"{dlq_replay_window({}).days}-day replay window" in out
    assert [message.body for message in drain(uri, ORIGINAL)] == [recent]
    assert [letter.body for letter in dlq.list_dead_letters(uri, "stats")] == [old_event, recent]


HANDLED: list[str] = []
BROKEN = {"on": True}


class ProbeStats(PlatformService):
    """A consumer shaped like the real ones (shared.platform.event_consumer), with a fault an operator can "fix"."""

    name = "stats"
    db = Database()

    @event_consumer("housing", "subsidy_approved")
    def on_subsidy_approved(self, event):
        if BROKEN["on"]:
            raise PermanentError("template missing")
        HANDLED.append(event["event_id"])


@pytest.fixture
def probe(container_factory, service_config, sqlite_url):
    migrate("stats", sqlite_url)
    HANDLED.clear()
    BROKEN["on"] = True
    container = container_factory(
        ProbeStats, service_config(sqlite_url, WEB_SERVER_ADDRESS=f"127.0.0.1:{find_free_port()}")
    )
    container.start()
    return container


def test_replay_after_the_fix_delivers_the_failed_event_exactly_once(platform_env, rabbit_config, probe, cli):
    uri = rabbit_config["AMQP_URI"]
    envelope = approved_envelope()
    with Connection(uri, transport_options={"confirm_publish": True}) as connection:
        body = json.dumps(envelope)
        Producer(connection.channel()).publish(
            body, exchange=Exchange("housing.events", type="topic", durable=True), routing_key="subsidy_approved",
            content_type="application/json", content_encoding="utf-8", headers=signed_by("housing", body),
        )  # fmt: skip
    wait_for(lambda: dlq.depths(uri, ["stats"])["stats"] == 1)
    [letter] = dlq.list_dead_letters(uri, "stats")
    assert letter.reason.startswith("permanent: PermanentError: template missing")
    assert letter.original_queue == ORIGINAL
    assert HANDLED == []

    BROKEN["on"] = False  # the fix is deployed
    code, out, _ = cli("dlq", "replay", "--yes")
    assert code == 0, out
    wait_for(lambda: HANDLED)
    assert HANDLED == [envelope["event_id"]]
    assert dlq.depths(uri, ["stats"])["stats"] == 0

    # a second copy (say, a replay of a duplicate) is recognised by the consumer's ledger: still one effect
    put(uri, ORIGINAL, json.dumps(envelope).encode(), {})
    wait_for(lambda: probe_idle(uri))
    assert HANDLED == [envelope["event_id"]]


def probe_idle(uri: str) -> bool:
    with Connection(uri) as connection:
        _, ready, _ = connection.channel().queue_declare(queue=ORIGINAL, passive=True)
    return ready == 0
