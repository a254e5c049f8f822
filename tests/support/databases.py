"""A service's database at head for a test, and a session on it for tests that call a module's functions directly.

`migrate` runs the real migrations once per service and test process, into a template, and gives each test
a copy: SQLite's backup API into the test's file, PostgreSQL's `CREATE DATABASE … TEMPLATE`. Running alembic
for every test was half the CPU of a service test module. A database that is not empty, or a revision other
than head, goes through `shared.platform.migrations.upgrade` as before; the migrations' own tests call that directly.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from shared.platform.db import make_engine
from shared.platform.migrations import upgrade

SQLITE = "sqlite:///"
_sqlite_templates: dict[str, Path] = {}
_postgres_templates: dict[tuple[str, str], str] = {}  # (server URL, service) -> template database


def migrate(service: str, url: str) -> None:
    """`url`'s database at `service`'s head."""
    if url.startswith(SQLITE) and _sqlite_empty(Path(url[len(SQLITE) :])):
        _copy_sqlite(_sqlite_template(service), Path(url[len(SQLITE) :]))
    elif url.startswith("postgresql") and _postgres_empty(url):
        _recreate_from(url, _postgres_template(service, url))
    else:
        upgrade(service, url)


@contextmanager
def migrated_session(service: str, db_url: str) -> Iterator[Session]:
    migrate(service, db_url)
    engine = make_engine(db_url)
    with sessionmaker(bind=engine, expire_on_commit=False)() as session:
        yield session
    engine.dispose()


def _sqlite_empty(path: Path) -> bool:
    return not path.exists() or path.stat().st_size == 0


def _copy_sqlite(template: Path, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(template) as source, sqlite3.connect(path) as target:
        source.backup(target)
    source.close()
    target.close()


def _sqlite_template(service: str) -> Path:
    if service not in _sqlite_templates:
        directory = Path(tempfile.mkdtemp(prefix="nc-templates-"))
        atexit.register(shutil.rmtree, directory, True)
        upgrade(service, f"{SQLITE}{directory / service}.db")
        _sqlite_templates[service] = directory / f"{service}.db"
    return _sqlite_templates[service]


def _server_and_name(url: str) -> tuple[str, str]:
    server, name = url.rsplit("/", 1)
    return server, name.split("?", 1)[0]


def _admin(server: str) -> Engine:
    return make_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")


def _postgres_empty(url: str) -> bool:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            tables = connection.execute(
                text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
            ).scalar()
    finally:
        engine.dispose()
    return tables == 0


def _postgres_template(service: str, url: str) -> str:
    server, _ = _server_and_name(url)
    if (server, service) not in _postgres_templates:
        name = f"nc_template_{service}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin = _admin(server)
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        atexit.register(_drop, server, name)
        upgrade(service, f"{server}/{name}")
        _postgres_templates[(server, service)] = name
    return _postgres_templates[(server, service)]


def _recreate_from(url: str, template: str) -> None:
    server, name = _server_and_name(url)
    admin = _admin(server)
    with admin.connect() as connection:
        # a file copy is a checkpoint, cheap on a server that does not sync (the suite's own) and slow on one
        # that does, where logging the copy block by block (the default) is the cheaper
        unsynced = connection.execute(text("SELECT current_setting('fsync') = 'off'")).scalar()
        connection.execute(text(f'DROP DATABASE "{name}"'))
        strategy = " STRATEGY FILE_COPY" if unsynced else ""
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"{strategy}'))
    admin.dispose()


def _drop(server: str, name: str) -> None:
    try:
        admin = _admin(server)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
    except Exception:  # the server may be gone already (the run's own is removed before the process ends)
        pass
