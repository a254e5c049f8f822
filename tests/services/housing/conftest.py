"""Fixtures for housing: valid applicants, a running housing container, a queue capturing its events."""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from types import SimpleNamespace

import pytest
from kombu import Connection, Queue
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.housing.desk import Desk
from services.housing.service import HousingService
from shared.platform.clock import Clock
from shared.platform.contracts import load_all
from shared.platform.db import make_engine
from shared.platform.outbox import OutboxWriter
from shared.platform.personal_data import DEV_KEYS
from shared.platform.personal_data_provider import PiiTools
from shared.platform.topology import event_exchange
from tests.support.databases import migrate

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_sequence = itertools.count(101)


def make_id_number(birth: str = "19900101", area: str = "330282", sequence: int | None = None) -> str:
    """A valid GB 11643 number; each call without `sequence` gives a different person."""
    body = f"{area}{birth}{(sequence if sequence is not None else next(_sequence)) % 1000:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True)) % 11]


def subsidy_application(**overrides) -> dict:
    """The black-box client's application, with a fresh ID number unless given."""
    application = {
        "id_number": make_id_number(),
        "name": "张三",
        "phone": "13812345678",
        "town": "观海卫镇",
        "category": "talent",
        "household_size": 3,
        "monthly_rent_yuan": 1800,
        "has_residence_permit": True,
        "owns_home_in_cixi": False,
    }
    application.update(overrides)
    return application


@pytest.fixture
def housing_container(db_url, service_config, container_factory):
    """A running housing container on a migrated database."""
    migrate("housing", db_url)
    container = container_factory(HousingService, service_config(db_url))
    container.start()
    return container


@pytest.fixture
def housing(housing_container):
    """The running housing container's config."""
    return housing_container.config


@pytest.fixture
def housing_clock(housing_container) -> Clock:
    """The running container's clock: set `.frozen` to an aware UTC moment."""
    return next(dep for dep in housing_container.dependencies if isinstance(dep, Clock))


@pytest.fixture
def call(housing, token_for):
    """`call("reviewer-1", "reviewer").review_subsidy_application(...)` over real RPC."""
    proxies = []

    def proxy(subject: str, *roles: str):
        rpc = ServiceRpcProxy("housing", housing, context_data={"authorization": token_for(subject, *roles)})
        proxies.append(rpc)
        return rpc.start()

    yield proxy
    for rpc in proxies:
        rpc.stop()


class EventCapture:
    """A queue bound to every housing event: reads envelopes as the relay published them."""

    def __init__(self, amqp_uri: str):
        self.connection = Connection(amqp_uri)
        self.queue = Queue("test-capture-housing", exchange=event_exchange("housing"), routing_key="#")
        self.queue(self.connection.default_channel).declare()
        self.seen: list[dict] = []

    def drain(self, until=lambda seen: False, timeout: float = 10.0) -> list[dict]:
        """Collect envelopes until `until(seen)` holds or `timeout` passes with nothing new."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not until(self.seen):
            message = self.queue(self.connection.default_channel).get(no_ack=True)
            if message is None:
                time.sleep(0.05)
                continue
            self.seen.append(json.loads(message.body))
        return self.seen

    def of_type(self, event_type: str) -> list[dict]:
        return [event for event in self.seen if event["event_type"] == event_type]

    def close(self):
        self.connection.release()


@pytest.fixture
def events(housing):
    capture = EventCapture(housing["AMQP_URI"])
    yield capture
    capture.close()


def tenancy_application(**overrides) -> dict:
    application = {
        "id_number": make_id_number("19970315"),
        "name": "李四",
        "phone": "13900001234",
        "town": "宗汉街道",
        "household_size": 2,
        "is_local_hukou": False,
        "has_residence_permit": True,
        "owns_home_in_cixi": False,
        "employed_in_cixi": True,
    }
    application.update(overrides)
    return application


def project(**overrides) -> dict:
    values = {
        "name": "宗汉人才公寓",
        "operator": "慈溪安居运营有限公司",
        "town": "宗汉",
        "kind": "new_build",
        "year_raised": 2024,
    }
    values.update(overrides)
    return values


def unit(unit_no: str = "101", rent_yuan: int = 1200, market_yuan: int = 1500, area: str = "45.50") -> dict:
    return {"unit_no": unit_no, "area_m2": area, "monthly_rent_yuan": rent_yuan, "market_rent_yuan": market_yuan}


def count_rows(config: dict, model, **where) -> int:
    """How many rows of `model` (with the `where` column values) housing's database holds, read directly."""
    engine = make_engine(config["DATABASE_URL"])
    query = select(func.count()).select_from(model)
    for column, value in where.items():
        query = query.where(getattr(model, column) == value)
    with engine.connect() as connection:
        count = connection.scalar(query)
    engine.dispose()
    return count


@pytest.fixture
def engine(db_url):
    """A migrated housing database, for tests that call the logic modules without a container."""
    load_all()
    migrate("housing", db_url)
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    with Session(engine, expire_on_commit=False) as session:
        yield session


def housing_desk(session: Session, now: datetime | None = None, audit=None) -> Desk:
    """Housing's application object without a container: the worker it reads is the session, an outbox
    writer on it, the development keys and a clock frozen at `now` (else reading the process clock)."""
    clock = Clock()
    clock.frozen = now
    outbox = OutboxWriter(session, "housing", None, [])
    worker = SimpleNamespace(db=session, outbox=outbox, pii=PiiTools(DEV_KEYS), clock=clock, audit=audit, config={})
    return Desk(worker)
