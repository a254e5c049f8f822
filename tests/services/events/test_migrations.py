"""The hand-written migrations build exactly the tables the models describe, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from services.events.models import Base, PolicyValue
from shared.db import make_engine
from shared.migrations import upgrade
from shared.models import SharedBase


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
