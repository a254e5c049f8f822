"""The shared policy store on SQLite and PostgreSQL: a value is in force from its date until superseded, the cache
is emptied by a write through the ORM, and another replica's write is seen once the cached entry has aged past
the TTL (the store's monotonic clock is moved, not slept on)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import update
from sqlalchemy.orm import DeclarativeBase, Session

from shared.platform.db import make_engine
from shared.platform.errors import BeforeSchemeStart, PolicyMissing
from shared.platform.policy_store import POLICY_CACHE_SECONDS, PolicyColumns, PolicyStore
from shared.platform.rule_results import RuleResult, failed_codes


class Base(DeclarativeBase):
    pass


class SamplePolicy(PolicyColumns, Base):
    __tablename__ = "sample_policy_values"


class FakeMonotonic:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


BOUNDARY = date(2025, 1, 1)


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


MONOTONIC = FakeMonotonic()
STORE = PolicyStore(SamplePolicy, monotonic=MONOTONIC)  # one per model and process, as a service has


@pytest.fixture
def monotonic():
    return MONOTONIC


@pytest.fixture
def store():
    STORE.forget()
    return STORE


def row(name: str, effective_from: date, value, ref: str, unit: str = "minutes") -> SamplePolicy:
    return SamplePolicy(name=name, effective_from=effective_from, value=json.dumps(value), unit=unit, policy_ref=ref)


@pytest.fixture
def seeded(engine, store):
    with Session(engine) as session:
        session.add_all([row("hold", date(2024, 1, 1), 60, "first"), row("hold", BOUNDARY, 90, "second")])
        session.commit()
    return engine


def test_a_value_is_in_force_from_its_date_until_the_next_row(seeded, store):
    with Session(seeded) as session:
        assert store.in_force(session, "hold", date(2024, 12, 31)).value == 60
        later = store.in_force(session, "hold", BOUNDARY)
        assert (later.value, later.unit, later.policy_ref, later.effective_from) == (90, "minutes", "second", BOUNDARY)
        assert store.in_force(session, "hold", date(2030, 6, 1)).value == 90
        assert later.trace == f"hold#{later.id} (2025-01-01): second"


def test_before_the_first_row_names_the_day_it_begins_and_an_unknown_name_is_missing(seeded, store):
    with Session(seeded) as session:
        with pytest.raises(BeforeSchemeStart, match="begins on 2024-01-01") as caught:
            store.in_force(session, "hold", date(2023, 12, 31))
        assert caught.value.starts_on == "2024-01-01"
        assert store.first(session, "hold").policy_ref == "first"
        with pytest.raises(PolicyMissing, match="no parking policy in force on 2025-01-01"):
            store.in_force(session, "parking", BOUNDARY)
        with pytest.raises(PolicyMissing):
            store.first(session, "parking")


def test_the_listing_is_by_name_then_oldest_first(seeded, store):
    with Session(seeded) as session:
        session.add(row("cap", date(2026, 1, 1), {"seats": 6}, "doc", unit="document"))
        session.commit()
        assert [(e.name, e.value) for e in store.listing(session)] == [
            ("cap", {"seats": 6}),
            ("hold", 60),
            ("hold", 90),
        ]
        assert [e.policy_ref for e in store.listing(session, "hold")] == ["first", "second"]
        assert store.by_id(session, store.listing(session, "cap")[0].id).value == {"seats": 6}


def test_a_cached_document_is_read_only(seeded, store):
    with Session(seeded) as session:
        session.add(row("cap", date(2026, 1, 1), {"seats": [6]}, "doc", unit="document"))
        session.commit()
        cached = store.in_force(session, "cap", date(2026, 1, 1)).value
        with pytest.raises(TypeError):
            cached["seats"] = 7
        assert cached["seats"] == (6,)


def test_a_write_through_the_orm_empties_the_cache_at_once(seeded, store):
    with Session(seeded) as session:
        assert store.in_force(session, "hold", date(2026, 1, 1)).value == 90
        session.add(row("hold", date(2026, 1, 1), 120, "third"))
        assert store.in_force(session, "hold", date(2026, 1, 1)).value == 120  # its own transaction sees it
        with Session(seeded) as other:
            assert store.in_force(other, "hold", date(2026, 1, 1)).value == 90  # not committed: not for others
        session.commit()
    with Session(seeded) as other:
        assert store.in_force(other, "hold", date(2026, 1, 1)).value == 120


def test_another_replicas_write_is_seen_once_the_entry_is_older_than_the_ttl(seeded, store, monotonic):
    with Session(seeded) as session:
        assert store.in_force(session, "hold", BOUNDARY).policy_ref == "second"
    with seeded.begin() as connection:  # as another replica would: no ORM event in this process
        connection.execute(
            update(SamplePolicy).where(SamplePolicy.effective_from == BOUNDARY).values(policy_ref="elsewhere")
        )
    monotonic.now += POLICY_CACHE_SECONDS - 0.001
    with Session(seeded) as session:
        assert store.in_force(session, "hold", BOUNDARY).policy_ref == "second"  # within the TTL: cached
    monotonic.now += 0.001
    with Session(seeded) as session:
        assert store.in_force(session, "hold", BOUNDARY).policy_ref == "elsewhere"


def test_each_database_has_its_own_cache(seeded, store, tmp_path):
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    Base.metadata.create_all(other)
    try:
        with Session(seeded) as session:
            assert store.in_force(session, "hold", BOUNDARY).value == 90
        with Session(other) as session, pytest.raises(PolicyMissing):
            store.in_force(session, "hold", BOUNDARY)
    finally:
        other.dispose()


def test_a_rule_result_reads_as_its_code_when_it_fails():
    results = [
        RuleResult("working_age", True, "of working age", "aged 30", "Labour Law art. 15"),
        RuleResult("cixi_residence", False, "Cixi residence permit required", "no permit"),
    ]
    assert failed_codes(results) == ["cixi_residence"]
    assert results[1].to_dict() == {
        "rule": "cixi_residence",
        "passed": False,
        "reason": "Cixi residence permit required",
        "detail": "no permit",
        "policy_ref": None,
    }
