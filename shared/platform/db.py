"""SQLAlchemy 2 engine and a per-worker session dependency (nameko-sqlalchemy stops at 1.x)."""

from __future__ import annotations

from datetime import datetime
from weakref import WeakKeyDictionary

from nameko.extensions import DependencyProvider
from sqlalchemy import Boolean, DateTime, Integer, Table, create_engine, event, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

SQLITE_BUSY_TIMEOUT_MS = 10_000


def normalise_url(url: str) -> str:
    """PostgreSQL goes through psycopg 3 (docs/decisions.md). A libpq multi-host URL
    (`postgresql://user@h1:5432,h2:5432/db?target_session_attrs=read-write`, what a primary and its standby
    are given as) is written the way SQLAlchemy passes several hosts on: one `host=` query item each."""
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://", "postgresql+pg8000://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
            break
    if not url.startswith("postgresql+psycopg://"):
        return url
    rest = url[len("postgresql+psycopg://") :]
    authority, _, path = rest.partition("/")
    user, at, hosts = authority.rpartition("@")
    if "," not in hosts:
        return url
    database, _, query = path.partition("?")
    items = [f"host={host}" for host in hosts.split(",")] + ([query] if query else [])
    return f"postgresql+psycopg://{user}{at}/{database}?{'&'.join(items)}"


def make_engine(url: str, **kwargs) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql+psycopg"):
        green_psycopg_waits()
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def green_psycopg_waits() -> None:
    """psycopg waits for the server in its C `wait_c` (poll() in C), which would block eventlet's hub for a
    whole query: no AMQP heartbeat, no other worker. It switches to its select() wait by itself only under
    gevent; under eventlet's monkey patch `select.select` is green, so we choose that wait. psycopg looks
    `waiting.wait` up at each call, so setting it here holds for every connection."""
    from eventlet import patcher
    from psycopg import waiting

    if patcher.is_monkey_patched("select"):
        waiting.wait = waiting.wait_select


def _sqlite_pragmas(dbapi_connection, _record):
    # pysqlite's default transaction handling is kept on purpose: it opens a write transaction only at
    # the first DML statement, so a read never holds a lock while its greenlet waits on network I/O
    # (sqlite's busy wait blocks the whole eventlet hub, so a lock held across a yield would stall it).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def bulk_insert(session: Session, table: Table, rows: list[dict], page: int = 1000) -> None:
    """INSERT many rows in the session's transaction, as few statements as the driver handles well.

    PostgreSQL: one `INSERT … SELECT FROM unnest(arrays)` per page: one short statement whose values travel
    as bound arrays (a multi-row VALUES list was slower with the pure-Python driver we used before, which
    scanned every statement character by character). SQLite: executemany of one cached statement.
    """
    if not rows:
        return
    columns = list(rows[0])
    if session.get_bind().dialect.name != "postgresql":
        session.execute(table.insert(), rows)
        return
    arrays = ", ".join(f"CAST(:{name} AS {_pg_type(table.c[name].type)}[])" for name in columns)
    # identifiers come from the Table definition and values travel as bound arrays, never from input text
    statement = text(f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({arrays})")  # noqa: S608
    for start in range(0, len(rows), page):
        chunk = rows[start : start + page]
        session.execute(statement, {name: [_pg_value(row[name]) for row in chunk] for name in columns})


def _pg_type(column_type) -> str:
    if isinstance(column_type, TypeDecorator):  # e.g. UtcDateTime: the column is what it decorates
        column_type = column_type.impl_instance
    if isinstance(column_type, DateTime):
        return "timestamptz" if column_type.timezone else "timestamp"
    if isinstance(column_type, Integer):
        return "bigint"
    if isinstance(column_type, Boolean):
        return "boolean"
    return "text"


def _pg_value(value):
    # arrays go over as text and are cast by the server: no per-element type guessing in the driver
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def move_status(session: Session, model, case_id, from_status: str, values: dict) -> bool:
    """Move one row out of `from_status` with `values`, only if it is still there: a conditional UPDATE, so
    of two deciders at once exactly one moves it. False for the other, whose transaction is left as it is: a
    decision refuses (raises, and `@transactional` rolls it back), a sweep or a claim moves on to the next row."""
    moved = session.execute(
        update(model)
        .where(model.id == case_id, model.status == from_status)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    return moved == 1


def ping(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:  # health reports the fact, not the cause
        return False


class Database(DependencyProvider):
    """`self.db` is a Session for the worker's lifetime; the service commits, teardown closes."""

    def __init__(self, url_key: str = "DATABASE_URL"):
        self.url_key = url_key
        self.sessions: WeakKeyDictionary = WeakKeyDictionary()

    def setup(self):
        self.engine = make_engine(self.container.config[self.url_key])
        self.Session = sessionmaker(bind=self.engine, expire_on_commit=False)

    def stop(self):
        self.engine.dispose()

    def kill(self):
        self.engine.dispose()

    def session_for(self, worker_ctx) -> Session:
        session = self.sessions.get(worker_ctx)
        if session is None:
            session = self.sessions[worker_ctx] = self.Session()
        return session

    def get_dependency(self, worker_ctx) -> Session:
        return self.session_for(worker_ctx)

    def worker_teardown(self, worker_ctx):
        session = self.sessions.pop(worker_ctx, None)
        if session is not None:
            session.close()

    def healthy(self) -> bool:
        return ping(self.engine)


def database_of(container, attr_name: str = "db") -> Database:
    """The container's `Database` dependency declared as `attr_name`: other dependencies that write in the
    worker's session (outbox, audit) find it through here."""
    return next(dep for dep in container.dependencies if isinstance(dep, Database) and dep.attr_name == attr_name)
