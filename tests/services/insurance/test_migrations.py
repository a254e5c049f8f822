"""The migrations build exactly the tables the models describe, seed the policy table, and go down cleanly."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, func, inspect, select

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
