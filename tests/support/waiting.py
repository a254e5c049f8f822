"""The one bounded wait of the suite, for asynchronous effects. The bound only stops a hung test; it is never
a timed assertion, and running out of it fails the test with the last value seen."""

import time

import eventlet

DEFAULT_TIMEOUT_SECONDS = 20


class ConditionNotMet(AssertionError):
    pass


def wait_for(predicate, timeout: float = DEFAULT_TIMEOUT_SECONDS, interval: float = 0.05, what: str | None = None):
    """Poll `predicate()` until it returns something truthy, and return that; raise `ConditionNotMet` on timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() > deadline:
            raise ConditionNotMet(
                f"{what or getattr(predicate, '__name__', 'condition')} not met in {timeout}s; last: {last!r}"
            )
        eventlet.sleep(interval)


def lock_waiters(database_url: str) -> int:
    """How many sessions of this PostgreSQL database wait on a lock: the condition a race test waits for
    before it lets the lock holder commit."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'"
                )
            )
    finally:
        engine.dispose()
