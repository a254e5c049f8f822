"""The PostgreSQL driver as the services use it (psycopg 3, docs/decisions.md): green under eventlet, given
several hosts through one URL, and its connection failures told apart from a query's."""

import eventlet
import pytest
from nameko.testing.utils import find_free_port
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared.platform.db import make_engine, normalise_url
from shared.platform.event_consumer import database_unavailable
from tests.support.waiting import wait_for


def test_a_multi_host_url_becomes_one_host_item_each_and_keeps_its_options():
    url = "postgresql://app:pw@10.0.0.1:5432,10.0.0.2:5433/housing?target_session_attrs=read-write"
    assert normalise_url(url) == (
        "postgresql+psycopg://app:pw@/housing?host=10.0.0.1:5432&host=10.0.0.2:5433&target_session_attrs=read-write"
    )
    engine = make_engine(url)
    _, options = engine.dialect.create_connect_args(engine.url)
    assert (options["host"], options["port"], options["target_session_attrs"]) == (
        "10.0.0.1,10.0.0.2",
        "5432,5433",
        "read-write",
    )


@pytest.mark.parametrize(
    "url",
    ["postgresql://u@db:5432/x", "postgres://u@db:5432/x", "postgresql+pg8000://u@db:5432/x"],
)
def test_every_postgresql_url_goes_through_psycopg(url):
    assert normalise_url(url) == "postgresql+psycopg://u@db:5432/x"


def test_a_query_waiting_on_the_server_lets_other_greenlets_run(postgres_url):
    """psycopg's C wait would hold eventlet's hub for the whole query; shared.platform.db makes it wait green. Here
    the main greenlet watches the other one's query running: impossible if the hub were held."""
    engine = make_engine(postgres_url)
    watcher = make_engine(postgres_url)

    def slow_query():
        with engine.connect() as connection:
            return connection.scalar(text("SELECT 'slept' FROM pg_sleep(2)"))

    sleeping = eventlet.spawn(slow_query)

    def seen_running() -> int:
        with watcher.connect() as connection:
            return connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND state = 'active' AND query LIKE '%pg_sleep(2)%' AND pid <> pg_backend_pid()"
                )
            )

    assert wait_for(seen_running, timeout=10, what="the slow query seen while it runs") == 1
    assert not sleeping.dead
    assert sleeping.wait() == "slept"
    engine.dispose()
    watcher.dispose()


def _error_of(engine, statement: str) -> DBAPIError:
    with pytest.raises(DBAPIError) as raised, engine.connect() as connection:
        connection.execute(text(statement))
    return raised.value


def test_a_refused_connection_is_an_unavailable_database():
    engine = make_engine(f"postgresql://postgres@127.0.0.1:{find_free_port()}/nothing?connect_timeout=2")
    assert database_unavailable(_error_of(engine, "SELECT 1"))


def test_no_server_that_takes_writes_is_an_unavailable_database(postgres_url):
    """A standby alone answers, but `target_session_attrs=read-write` refuses it: the same as none at all.
    The machine's server takes writes, so `read-only` stands in for the refusal here."""
    engine = make_engine(f"{postgres_url}?target_session_attrs=read-only")
    assert database_unavailable(_error_of(engine, "SELECT 1"))


def test_a_failing_statement_is_not_an_unavailable_database(postgres_url, sqlite_url):
    postgres = make_engine(postgres_url)
    assert not database_unavailable(_error_of(postgres, "SELECT * FROM no_such_table"))
    with postgres.connect() as connection:
        connection.execute(text("SET statement_timeout = 50"))
        with pytest.raises(DBAPIError) as timed_out:
            connection.execute(text("SELECT pg_sleep(1)"))
    assert not database_unavailable(timed_out.value)
    assert not database_unavailable(_error_of(make_engine(sqlite_url), "SELECT * FROM no_such_table"))
    postgres.dispose()
