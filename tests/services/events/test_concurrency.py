"""Capacity holds under concurrent registrations for the last seats: many callers, each with its own RPC
proxy, against two replicas of the service sharing one database (SQLite file and PostgreSQL)."""

import eventlet
import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import replace_dependencies
from nameko.testing.utils import find_free_port
from sqlalchemy import func, select

from services.events import models as m
from services.events.service import EventsService
from shared.platform.db import make_engine
from tests.services.events.conftest import ADULTS, CHILDREN

CALLERS = 24


@pytest.fixture
def replicas(container_factory, events_config, clock):
    for _ in range(2):
        config = {**events_config, "WEB_SERVER_ADDRESS": f"127.0.0.1:{find_free_port()}"}
        container = container_factory(EventsService, config)
        replace_dependencies(container, clock=clock)
        container.start()


def register_in_parallel(events_config, token, requests: list[dict]) -> list:
    def call(request):
        with ServiceRpcProxy("events", events_config, context_data={"authorization": token}, timeout=60) as proxy:
            try:
                return proxy.register(request)
            except RemoteError as exc:
                return exc.exc_type

    pool = eventlet.GreenPool(len(requests))
    return list(pool.imap(call, requests))


def seat_counts(url: str, activity_id: str) -> tuple[int, int]:
    engine = make_engine(url)
    with engine.connect() as connection:
        taken = connection.scalar(select(m.Activity.seats_taken).where(m.Activity.id == activity_id))
        held = connection.scalar(
            select(func.coalesce(func.sum(m.Registration.seats), 0)).where(
                m.Registration.activity_id == activity_id, m.Registration.status.in_(m.HOLDING_SEATS)
            )
        )
    engine.dispose()
    return taken, held


def test_last_seats_go_to_exactly_as_many_callers_as_there_are_seats(replicas, make_activity, events_config, token_for):
    activity = make_activity(capacity=5)
    requests = [{"activity_id": activity["id"], "id_number": ADULTS[n]} for n in range(CALLERS)]
    results = register_in_parallel(events_config, token_for("cw-1", "caseworker"), requests)
    statuses = [r["status"] for r in results]
    assert statuses.count("confirmed") == 5
    assert statuses.count("waitlisted") == CALLERS - 5
    assert sorted(r["waitlist_position"] for r in results if r["status"] == "waitlisted") == list(range(1, CALLERS - 4))
    assert seat_counts(events_config["DATABASE_URL"], activity["id"]) == (5, 5)


def test_families_racing_for_the_last_two_seats_get_both_or_none(
    replicas, staff, make_activity, events_config, token_for
):
    activity = make_activity(capacity=3)
    staff.register({"activity_id": activity["id"], "id_number": ADULTS[40]})
    families = [{"activity_id": activity["id"], "id_number": ADULTS[n], "children": [CHILDREN[n]]} for n in range(12)]
    results = register_in_parallel(events_config, token_for("cw-1", "caseworker"), families)
    statuses = [r["status"] for r in results]
    assert statuses.count("confirmed") == 1 and statuses.count("waitlisted") == 11
    assert seat_counts(events_config["DATABASE_URL"], activity["id"]) == (3, 3)


def test_one_person_registered_by_many_callers_at_once_gets_one_place(
    replicas, make_activity, events_config, token_for
):
    activity = make_activity(capacity=10)
    same = [{"activity_id": activity["id"], "id_number": ADULTS[0]}] * 8
    results = register_in_parallel(events_config, token_for("cw-1", "caseworker"), same)
    assert sum(1 for r in results if isinstance(r, dict)) == 1
    assert [r for r in results if not isinstance(r, dict)] == ["AlreadyRegistered"] * 7
    assert seat_counts(events_config["DATABASE_URL"], activity["id"]) == (1, 1)


def test_parallel_cancellations_offer_each_freed_seat_once(replicas, staff, make_activity, events_config, token_for):
    activity = make_activity(capacity=5)
    holders = [staff.register({"activity_id": activity["id"], "id_number": ADULTS[n]}) for n in range(5)]
    queued = [staff.register({"activity_id": activity["id"], "id_number": ADULTS[n]}) for n in range(5, 15)]
    assert {r["status"] for r in queued} == {"waitlisted"}
    token = token_for("cw-1", "caseworker")

    def cancel(registration_id):
        with ServiceRpcProxy("events", events_config, context_data={"authorization": token}, timeout=60) as proxy:
            return proxy.cancel_registration(registration_id)["status"]

    pool = eventlet.GreenPool(5)
    assert list(pool.imap(cancel, [r["id"] for r in holders])) == ["cancelled"] * 5
    statuses = [staff.get_registration(r["id"])["status"] for r in queued]
    assert statuses == ["offered"] * 5 + ["waitlisted"] * 5  # the first five in line, once each
    assert seat_counts(events_config["DATABASE_URL"], activity["id"]) == (5, 5)
