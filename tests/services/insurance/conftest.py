"""Insurance fixtures: valid ID numbers for any birth date, the seeded policy book, and a `Desk` on a
real database (SQLite and PostgreSQL) with the real outbox writer."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from services.insurance.policy import load_book
from services.insurance.workflow import Desk
from shared.platform.auth import Caller
from shared.platform.clock import process_clock
from shared.platform.contracts import load_all
from shared.platform.db import make_engine
from shared.platform.models import OutboxMessage
from shared.platform.outbox import OutboxWriter
from shared.platform.personal_data import DEV_KEYS
from shared.platform.personal_data_provider import PiiTools
from tests.support.databases import migrate

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def id_number(born: date, male: bool = True, serial: int = 12, area: str = "330282") -> str:
    """A valid GB 11643 number (written from the standard, not taken from shared.platform.personal_data)."""
    sequence = serial * 10 + (1 if male else 2)
    first17 = f"{area}{born:%Y%m%d}{sequence:03d}"
    return first17 + _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def years_before(on: date, years: int, days: int = 0) -> date:
    """The birth date of someone who turns `years` on `on` (then `days` earlier, if given)."""
    from datetime import timedelta

    return on.replace(year=on.year - years) - timedelta(days=days)


CASEWORKER = Caller("cw-li", frozenset({"caseworker"}))
REVIEWER = Caller("rv-wang", frozenset({"reviewer"}))
ADMIN = Caller("admin-zhao", frozenset({"admin"}))


def resident_caller(pii: PiiTools, number: str) -> Caller:
    return Caller(pii.resident_id(number), frozenset({"resident"}))


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """The policy book exactly as the migration seeds it."""
    url = f"sqlite:///{tmp_path_factory.mktemp('policy') / 'insurance.db'}"
    migrate("insurance", url)
    engine = make_engine(url)
    with sessionmaker(bind=engine)() as session:
        loaded = load_book(session)
    engine.dispose()
    return loaded


class Counter:
    """A migrated database and a way to get a Desk on any business day, as a worker would."""

    def __init__(self, url: str):
        load_all()
        migrate("insurance", url)
        self.engine = make_engine(url)
        self.Session = sessionmaker(bind=self.engine, expire_on_commit=False)
        self.pii = PiiTools(DEV_KEYS)
        self.sessions = []

    def desk(self, today: date) -> Desk:
        return Desk(self.worker("test-correlation"), today=today)

    def worker(self, correlation_id: str | None) -> SimpleNamespace:
        """What a Desk reads from a nameko worker: a session of its own, the outbox writer, PII and clock."""
        session = self.Session()
        self.sessions.append(session)
        outbox = OutboxWriter(session, "insurance", correlation_id, [])
        return SimpleNamespace(db=session, outbox=outbox, pii=self.pii, clock=process_clock())

    def events(self, event_type: str | None = None) -> list[dict]:
        import json

        with self.Session() as session:
            query = select(OutboxMessage).order_by(OutboxMessage.created_at)
            if event_type:
                query = query.where(OutboxMessage.routing_key == event_type)
            return [json.loads(row.body) for row in session.scalars(query)]

    def close(self):
        for session in self.sessions:
            session.close()
        self.engine.dispose()


@pytest.fixture
def counter(db_url):
    made = Counter(db_url)
    yield made
    made.close()
