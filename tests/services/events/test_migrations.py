"""The hand-written migrations build exactly the tables the models describe, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from services.events.models import Base, Policy
from shared.platform.db import make_engine
from shared.platform.migrations import upgrade
from shared.platform.models import SharedBase


def test_migrations_match_models_and_seed_a_policy(db_url):
    upgrade("events", db_url)
    engine = make_engine(db_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        diff = [d for d in compare_metadata(context, [Base.metadata, SharedBase.metadata])]
        policy = connection.execute(select(Policy.hold_minutes, Policy.policy_ref)).one()
    engine.dispose()
    assert diff == []
    assert policy.hold_minutes > 0 and "[assumed]" in policy.policy_ref
