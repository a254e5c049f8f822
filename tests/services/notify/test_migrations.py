"""notify's hand-written migrations build exactly the tables its models describe, on SQLite and PostgreSQL
(notify_0016: what names a call whose answer was lost, kept with the held notification)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.notify.models import Base
from shared.platform.db import make_engine
from shared.platform.migrations import upgrade
from shared.platform.models import SharedBase


def test_migrations_match_models(db_url):
    upgrade("notify", db_url)
    engine = make_engine(db_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        diff = list(compare_metadata(context, [Base.metadata, SharedBase.metadata]))
    engine.dispose()
    assert diff == []
