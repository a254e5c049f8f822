"""`OutboxWriter.add_many` writes many validated events with multi-row INSERTs, in the order given."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.platform.contracts import load_all, validate_envelope
from shared.platform.db import make_engine
from shared.platform.errors import ValidationError
from shared.platform.models import OutboxMessage, SharedBase
from shared.platform.outbox import OutboxWriter


def disbursed(number: int) -> dict:
    return {
        "application_id": f"app-{number:05d}",
        "resident_id": f"r_{number:032d}",
        "town": "观海卫镇",
        "category": "talent",
        "disbursement_id": f"d-{number}",
        "period": "2025-06",
        "amount_fen": 63000,
        "disbursed_at": "2025-06-01T00:00:00+00:00",
    }


@pytest.fixture
def session(db_url):
    load_all()
    engine = make_engine(db_url)
    SharedBase.metadata.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


def test_add_many_writes_every_row_in_order(session):
    pending: list[str] = []
    writer = OutboxWriter(session, "housing", "corr-1", pending)
    first = writer.add("subsidy_disbursed", disbursed(0))
    envelopes = writer.add_many("subsidy_disbursed", [disbursed(n) for n in range(1, 1201)])
    last = writer.add("subsidy_disbursed", disbursed(1201))  # within the same microseconds as the page
    session.commit()
    rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at)).all()
    expected = [first["event_id"]] + [e["event_id"] for e in envelopes] + [last["event_id"]]
    assert [row.event_id for row in rows] == expected
    assert pending == [row.event_id for row in rows]
    body = json.loads(rows[-2].body)
    envelope, data = validate_envelope(body)
    assert data["application_id"] == "app-01200" and envelope["correlation_id"] == "corr-1"


def test_add_many_refuses_a_bad_item_and_writes_nothing(session):
    writer = OutboxWriter(session, "housing", None, [])
    with pytest.raises(ValidationError):
        writer.add_many("subsidy_disbursed", [disbursed(1), {**disbursed(2), "amount_fen": "lots"}])
    session.commit()
    assert session.scalars(select(OutboxMessage)).all() == []
