"""A session on a service's database, migrated to head, for tests that call a module's functions directly."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, sessionmaker

from shared.db import make_engine
from shared.migrations import upgrade


@contextmanager
def migrated_session(service: str, db_url: str) -> Iterator[Session]:
    upgrade(service, db_url)
    engine = make_engine(db_url)
    with sessionmaker(bind=engine, expire_on_commit=False)() as session:
        yield session
    engine.dispose()
