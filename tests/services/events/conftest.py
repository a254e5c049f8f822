"""Fixtures for the events service: a migrated database, a frozen clock, a running container, RPC callers."""

from __future__ import annotations

import json
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import replace_dependencies
from sqlalchemy import select

from services.events.service import EventsService
from shared.platform.db import make_engine
from shared.platform.models import OutboxMessage
from tests.support.databases import migrate
from tests.support.residents import subject_of

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)

# 09:00 in Cixi on 1 July 2025; activities in the tests start two days later at 10:00 local
START_OF_TESTS = datetime(2025, 7, 1, 1, 0, tzinfo=UTC)


def make_id(born: date, sequence: int = 1, area: str = "330282") -> str:
    """A valid GB 11643-1999 number for a birth date (sequence 1..999)."""
    first17 = f"{area}{born:%Y%m%d}{sequence:03d}"
    check = "10X98765432"[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]
    return first17 + check


rid = subject_of


class FrozenClock:
    def __init__(self, now: datetime):
        self.current = now

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta) -> datetime:
        self.current += timedelta(**delta)
        return self.current

    def set(self, moment: datetime) -> None:
        self.current = moment


@pytest.fixture
def clock():
    return FrozenClock(START_OF_TESTS)


@pytest.fixture
def events_config(db_url, service_config):
    migrate("events", db_url)
    # timers are driven by the tests through entrypoint hooks, not by the wall clock
    return service_config(db_url, HOLD_SWEEP_SECONDS=3600, REMINDER_SWEEP_SECONDS=3600, CLOSE_SWEEP_SECONDS=3600)


@pytest.fixture
def start_events(container_factory, events_config, clock):
    def start():
        container = container_factory(EventsService, events_config)
        replace_dependencies(container, clock=clock)
        container.start()
        return container

    return start


@pytest.fixture
def events(start_events):
    return start_events()


@pytest.fixture
def rpc(events_config, token_for):
    """`rpc(sub, *roles)` -> an RPC proxy to events carrying that caller's token."""
    stack = ExitStack()

    def proxy(sub: str = "cw-1", *roles: str):
        token = token_for(sub, *(roles or ("caseworker",)))
        return stack.enter_context(
            ServiceRpcProxy("events", events_config, context_data={"authorization": token}, timeout=30)
        )

    yield proxy
    stack.close()


@pytest.fixture
def staff(events, rpc):
    return rpc("cw-1", "caseworker")


@pytest.fixture
def outbox(events_config):
    """`outbox("seat_offered")` -> data of the events of that type written so far, oldest first."""
    engine = make_engine(events_config["DATABASE_URL"])

    def read(event_type: str | None = None) -> list[dict]:
        with engine.connect() as connection:
            query = select(OutboxMessage.body).order_by(OutboxMessage.created_at)
            if event_type:
                query = query.where(OutboxMessage.routing_key == event_type)
            bodies = connection.scalars(query).all()
        return [json.loads(body)["data"] for body in bodies]

    yield read
    engine.dispose()


@pytest.fixture
def venue(staff):
    return staff.create_venue({"name": "慈溪市少年儿童图书馆", "kind": "children_library", "town": "浒山"})


@pytest.fixture
def make_activity(staff, venue):
    def create(**overrides) -> dict:
        activity = {
            "title": "暑期小候鸟课堂",
            "kind": "summer_class",
            "venue_id": venue["id"],
            "starts_at": "2025-07-03T10:00:00+08:00",
            "ends_at": "2025-07-03T12:00:00+08:00",
            "capacity": 3,
        }
        activity.update(overrides)
        return staff.create_activity(activity)

    return create


ADULTS = [make_id(date(1988, 3, 1), n) for n in range(1, 60)]
CHILDREN = [make_id(date(2016, 9, 1), n) for n in range(1, 60)]  # aged 8 in July 2025
