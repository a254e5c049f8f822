"""The migrations build exactly the tables the models describe, seed the policy table, and go down cleanly."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, func, inspect, select, text

from services.insurance.models import Base, PolicyValue
from shared.platform.db import make_engine
from shared.platform.migrations import alembic_config, upgrade
from shared.platform.models import SharedBase


def test_migrations_match_the_models_and_round_trip(db_url):
    upgrade("insurance", db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            combined = MetaData()
            for metadata in (Base.metadata, SharedBase.metadata):
                for table in metadata.tables.values():
                    table.to_metadata(combined)
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, combined) == []
            assert connection.scalar(select(func.count()).select_from(PolicyValue)) >= 20

        command.downgrade(alembic_config("insurance", db_url), "insurance_0001")
        assert "enrolments" not in inspect(engine).get_table_names()
        assert "outbox" in inspect(engine).get_table_names()
        upgrade("insurance", db_url)
        assert {"enrolments", "persons", "employment_registrations", "policy_values"} <= set(
            inspect(engine).get_table_names()
        )
    finally:
        engine.dispose()


def _rows(engine, columns: str) -> set[tuple]:
    with engine.connect() as connection:
        return {tuple(r) for r in connection.execute(text(f"SELECT {columns} FROM policy_values"))}


def test_the_shared_store_shape_keeps_every_figure_and_goes_back(db_url):
    """insurance_0009: each figure's year becomes 1 January of it and its value a JSON number with every digit;
    unit, reference and note unchanged; downgrade gives back the yearly table, value for value."""
    upgrade("insurance", db_url, "insurance_0008")
    engine = make_engine(db_url)
    try:
        yearly = {
            (name, year, Decimal(str(value)), unit, ref, note)
            for name, year, value, unit, ref, note in _rows(
                engine, "name, effective_year, value, unit, policy_ref, note"
            )
        }
        assert len(yearly) >= 20
        upgrade("insurance", db_url, "insurance_0009")
        dated = _rows(engine, "name, effective_from, value, unit, policy_ref, note")
        assert {
            (name, date.fromisoformat(str(day)).year, Decimal(value), unit, ref, note)
            for name, day, value, unit, ref, note in dated
        } == yearly
        assert {str(day)[4:] for _, day, *_ in dated} == {"-01-01"}
        command.downgrade(alembic_config("insurance", db_url), "insurance_0008")
        assert {
            (name, year, Decimal(str(value)), unit, ref, note)
            for name, year, value, unit, ref, note in _rows(
                engine, "name, effective_year, value, unit, policy_ref, note"
            )
        } == yearly
    finally:
        engine.dispose()
