"""The hand-written migrations build exactly the tables the models describe, on SQLite and PostgreSQL."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text

from services.events.models import Base, PolicyValue
from shared.platform.db import make_engine
from shared.platform.migrations import alembic_config, upgrade
from shared.platform.models import SharedBase


def test_migrations_match_models_and_seed_a_policy(db_url):
    upgrade("events", db_url)
    engine = make_engine(db_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        diff = [d for d in compare_metadata(context, [Base.metadata, SharedBase.metadata])]
        policy = connection.execute(
            select(PolicyValue.value.label("hold_minutes"), PolicyValue.policy_ref).where(
                PolicyValue.name == "hold_minutes"
            )
        ).one()
    engine.dispose()
    assert diff == []
    assert int(policy.hold_minutes) > 0 and "[assumed]" in policy.policy_ref


SETTINGS = ("hold_minutes", "reminder_lead_hours", "max_party_size", "check_in_opens_minutes", "child_max_age")


def _rows(engine, sql: str) -> set[tuple]:
    with engine.connect() as connection:
        return {tuple(str(v) for v in r) for r in connection.execute(text(sql))}


def test_the_typed_policy_columns_become_store_rows_and_go_back(db_url):
    """events_0005: each typed column of each events_policies version becomes a row (its date, reference and
    value); downgrade gathers them into the same versions."""
    upgrade("events", db_url, "events_0008")
    engine = make_engine(db_url)
    try:
        versions = _rows(engine, f"SELECT id, effective_from, policy_ref, {', '.join(SETTINGS)} FROM events_policies")
        assert len(versions) == 1
        upgrade("events", db_url, "events_0005")
        rows = _rows(engine, "SELECT name, effective_from, value, policy_ref FROM policy_values")
        expected = set()
        for _id, day, ref, *values in versions:
            expected |= {(name, day, value, ref) for name, value in zip(SETTINGS, values, strict=True)}
        assert rows == expected
        command.downgrade(alembic_config("events", db_url), "events_0008")
        assert _rows(engine, f"SELECT id, effective_from, policy_ref, {', '.join(SETTINGS)} FROM events_policies") == (
            versions
        )
    finally:
        engine.dispose()
