"""Events leave through the outbox relay onto the broker, into the queues of their declared consumers, and
validate against shared/cixi/contracts there."""

import time

from kombu import Connection

from shared.platform.contracts import load_all, validate_envelope
from shared.platform.topology import consumer_queue_name
from tests.services.events.conftest import ADULTS, CHILDREN, rid
from tests.support.metrics import metrics_showing


def drain(amqp_uri: str, queue: str, expected: int, within: float = 15.0) -> list[dict]:
    """Messages from a queue, waiting (bounded) until `expected` have arrived."""
    bodies: list[dict] = []
    deadline = time.monotonic() + within
    with Connection(amqp_uri) as connection:
        simple = connection.SimpleQueue(queue, no_ack=True)
        try:
            while len(bodies) < expected and time.monotonic() < deadline:
                try:
                    bodies.append(simple.get(timeout=0.5).payload)
                except simple.Empty:
                    pass
        finally:
            simple.close()
    return bodies


def test_registration_events_reach_the_stats_queues_and_validate(staff, make_activity, events_config):
    activity = make_activity(capacity=1)
    staff.register({"activity_id": activity["id"], "id_number": ADULTS[0], "children": [CHILDREN[0]]})
    staff.register({"activity_id": activity["id"], "id_number": ADULTS[1]})
    uri = events_config["AMQP_URI"]
    [waitlisted] = drain(uri, consumer_queue_name("events", "waitlisted", "stats"), 1)
    envelope, data = validate_envelope(waitlisted)
    # the family (two seats) does not fit in one seat and queues; the single resident after it fits
    assert envelope["source"] == "events" and data["resident_id"] == rid(ADULTS[0]) and data["seats"] == 2
    [confirmed] = drain(uri, consumer_queue_name("events", "registration_confirmed", "stats"), 1)
    assert validate_envelope(confirmed)[1]["resident_id"] == rid(ADULTS[1])
    assert len(drain(uri, consumer_queue_name("events", "activity_scheduled", "stats"), 1)) == 1


def test_every_events_contract_names_only_real_consumers():
    contracts = load_all().published_by("events")
    assert {c.event_type for c in contracts} >= {
        "registration_confirmed",
        "waitlisted",
        "seat_offered",
        "offer_expired",
        "registration_cancelled",
        "activity_cancelled",
        "attendance_recorded",
        "reminder_due",
    }
    assert {consumer for c in contracts for consumer in c.consumers} <= {"stats", "notify"}


def test_metrics_show_registrations_by_status(staff, make_activity, events_config):
    activity = make_activity(capacity=1)
    staff.register({"activity_id": activity["id"], "id_number": ADULTS[0]})
    staff.register({"activity_id": activity["id"], "id_number": ADULTS[1]})
    metrics_showing(
        events_config["WEB_SERVER_ADDRESS"],
        'newcitizen_events_registrations{status="confirmed"} 1.0',
        'newcitizen_events_registrations{status="waitlisted"} 1.0',
    )
