"""The policy in force is cached, and a new or edited policy row is still what the next case sees."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from services.housing import policy as policy_module
from services.housing.models import PolicyVersion
from services.housing.policy import RENT_SUBSIDY, policy_by_id, policy_in_force

ON = date(2030, 6, 1)


def later_row(session: Session, ref: str, effective_from: date = date(2030, 1, 1)) -> PolicyVersion:
    base = policy_by_id(session, policy_in_force(session, RENT_SUBSIDY, ON).id)  # its rules as plain JSON
    row = PolicyVersion(
        programme=RENT_SUBSIDY, effective_from=effective_from, policy_ref=ref, rules=json.dumps(base.rules)
    )
    session.add(row)
    return row


def test_a_cached_policy_is_read_only(session):
    with pytest.raises(TypeError):
        policy_in_force(session, RENT_SUBSIDY, ON).rules["term_months"] = 1


def test_a_new_row_is_seen_at_once_by_every_session_of_the_process(engine, session):
    assert policy_in_force(session, RENT_SUBSIDY, ON).policy_ref != "new"
    later_row(session, "new")
    session.commit()
    with Session(engine) as other:
        assert policy_in_force(other, RENT_SUBSIDY, ON).policy_ref == "new"


def test_an_edited_row_is_seen_at_once(engine, session):
    row = later_row(session, "first")
    session.commit()
    assert policy_in_force(session, RENT_SUBSIDY, ON).policy_ref == "first"
    row.policy_ref = "edited"
    session.commit()
    with Session(engine) as other:
        assert policy_in_force(other, RENT_SUBSIDY, ON).policy_ref == "edited"


def test_an_uncommitted_row_is_seen_only_by_its_own_transaction_and_never_cached(engine, session):
    before = policy_in_force(session, RENT_SUBSIDY, ON).policy_ref
    later_row(session, "pending")
    assert policy_in_force(session, RENT_SUBSIDY, ON).policy_ref == "pending"
    session.rollback()
    with Session(engine) as other:
        assert policy_in_force(other, RENT_SUBSIDY, ON).policy_ref == before


def test_a_write_outside_this_process_is_seen_once_the_cache_entry_is_older_than_its_ttl(engine, session, monkeypatch):
    row = later_row(session, "first")
    session.commit()
    assert policy_in_force(session, RENT_SUBSIDY, ON).policy_ref == "first"
    with engine.begin() as connection:  # as another replica would: no ORM event here
        connection.execute(update(PolicyVersion).where(PolicyVersion.id == row.id).values(policy_ref="elsewhere"))
    with Session(engine) as other:
        assert policy_in_force(other, RENT_SUBSIDY, ON).policy_ref == "first"  # within the TTL: cached
    now = policy_module.STORE.monotonic()
    monkeypatch.setattr(policy_module.STORE, "monotonic", lambda: now + policy_module.POLICY_CACHE_SECONDS)
    with Session(engine) as other:
        assert policy_in_force(other, RENT_SUBSIDY, ON).policy_ref == "elsewhere"
