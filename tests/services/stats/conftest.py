import pytest

from tests.support.databases import migrated_session


@pytest.fixture
def session(db_url):
    """A session on a migrated stats database (SQLite and PostgreSQL)."""
    with migrated_session("stats", db_url) as session:
        yield session
