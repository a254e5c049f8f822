import pytest
from sqlalchemy.orm import sessionmaker

from shared.db import make_engine
from shared.migrations import upgrade


@pytest.fixture
def session(db_url):
    """A session on a migrated stats database (SQLite and PostgreSQL)."""
    upgrade("stats", db_url)
    engine = make_engine(db_url)
    with sessionmaker(bind=engine, expire_on_commit=False)() as session:
        yield session
    engine.dispose()
