"""PostgreSQL servers of the test's own, for the faults that stop or fail over a database. The machine's
shared server serves other people's tests and is never stopped. Each lives in a temporary directory,
listens on free loopback ports with trust authentication, and is removed afterwards. The servers are
`ops.pg_cluster`'s (the script that starts a primary and standby by hand); as root they run as `postgres`.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from nameko.testing.utils import find_free_port

from ops.pg_cluster import PgPair, PgServer
from ops.pg_cluster import PostgresUnavailable as PrivatePostgresUnavailable

__all__ = ["PrivatePostgres", "PrivatePostgresUnavailable", "create_database", "private_pg_pair", "private_postgres"]


def create_database(admin_url: str, name: str) -> None:
    from sqlalchemy import text

    from shared.platform.db import make_engine

    engine = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


class PrivatePostgres(PgServer):
    """One server, for the fault that stops a consumer's database for a while."""

    def __init__(self, base: Path):
        super().__init__(base, find_free_port())

    @property
    def admin_url(self) -> str:
        return self.url("postgres")

    def start_cluster(self) -> None:
        self.initdb()
        self.start()

    def create_database(self, name: str) -> str:
        create_database(self.admin_url, name)
        return self.url(name)

    def remove(self) -> None:
        if self.running:
            try:
                self.stop()
            except RuntimeError:
                pass
        shutil.rmtree(self.base, ignore_errors=True)


def _temp_base(prefix: str) -> Path:
    """Straight under the system temp dir: pytest's are private to root, which the postgres user could not
    enter."""
    return Path(tempfile.mkdtemp(prefix=prefix))


@contextmanager
def private_postgres():
    """A started private cluster, stopped and removed afterwards; raises PrivatePostgresUnavailable."""
    cluster = PrivatePostgres(_temp_base("nc-faults-pg-"))
    try:
        cluster.start_cluster()
        yield cluster
    finally:
        cluster.remove()


@contextmanager
def private_pg_pair():
    """A primary and its synchronous streaming standby on free ports, both stopped and removed afterwards;
    raises PrivatePostgresUnavailable."""
    pair = PgPair(_temp_base("nc-failover-pg-"), (find_free_port(), find_free_port()))
    try:
        pair.start()
        pair.wait_streaming()
        yield pair
    finally:
        pair.remove()


# Durability off: the suite's databases are thrown away, and creating and dropping one per test on a server
# that syncs every file took about a second each. What durability guarantees is the fault suite's, on servers
# of its own with synchronous commits.
SUITE_SETTINGS = {"synchronous_commit": "off", "full_page_writes": "off", "max_connections": "300"}


@contextmanager
def suite_postgres():
    """The admin URL of a throw-away server for one run of the suite (the machine's binaries, durability off),
    stopped and removed afterwards; raises PrivatePostgresUnavailable."""
    cluster = PrivatePostgres(_temp_base("nc-suite-pg-"))
    cluster.settings.update(SUITE_SETTINGS)
    try:
        cluster.start_cluster()
        yield cluster.admin_url.replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        cluster.remove()
