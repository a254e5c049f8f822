"""The send-rate token bucket kept in notify's database, so that every replica draws on one provider limit.

A provider's limit is per account, not per process: with a bucket in each process, N replicas sent N times
the limit (issue #19). Each channel has one row (tokens, refilled_at). A batch takes its tokens in one short
transaction that first touches the row, which takes its lock (PostgreSQL's row lock, SQLite's write lock),
then refills it by the time elapsed on the database server's clock, so replicas on different hosts agree on
"elapsed" without trusting each other's clocks. The rate is security time, not business time: the platform's
Clock is never read here (a frozen test clock would stop the refill).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import literal_column, select, update
from sqlalchemy.exc import IntegrityError

from services.notify.models import SendRateBucket
from services.notify.rules import draw, refill

SERVER_EPOCH = {
    "postgresql": literal_column("extract(epoch from clock_timestamp())::float8"),
    "sqlite": literal_column("(julianday('now') - 2440587.5) * 86400.0"),
}


class SharedTokenBucket:
    """`rate` tokens a second, at most `capacity` saved up, for `channel`, across every replica that shares
    the database. The same `try_take` / `take` as `rules.TokenBucket`."""

    def __init__(self, session_factory, channel: str, rate: float, capacity: float):
        if rate <= 0 or capacity <= 0:
            raise ValueError("rate and capacity must be positive")
        self.Session, self.channel = session_factory, channel
        self.rate, self.capacity = float(rate), float(capacity)

    def try_take(self, count: float = 1) -> float:
        """Take `count` tokens if they are there and return 0; otherwise take none and return the wait."""
        count = min(float(count), self.capacity)
        while True:
            with self.Session() as session:
                try:
                    with session.begin():
                        return self._draw(session, count)
                except IntegrityError:  # another replica created the row first: draw from theirs
                    continue

    def take(self, count: float = 1, sleep: Callable[[float], None] = time.sleep) -> None:
        while (wait := self.try_take(count)) > 0:
            sleep(wait)

    def _draw(self, session, count: float) -> float:
        table = SendRateBucket.__table__
        locked = session.execute(
            update(table).where(table.c.channel == self.channel).values(tokens=table.c.tokens)
        ).rowcount  # fmt: skip
        now = session.scalar(select(SERVER_EPOCH[session.get_bind().dialect.name]))
        if not locked:  # the first draw on this channel: a full bucket
            session.add(SendRateBucket(channel=self.channel, tokens=self.capacity, refilled_at=now))
            session.flush()
        row = session.get(SendRateBucket, self.channel, populate_existing=True)
        tokens = refill(row.tokens, now - row.refilled_at, self.rate, self.capacity)
        row.tokens, wait = draw(tokens, count, self.rate)
        row.refilled_at = now
        return wait
