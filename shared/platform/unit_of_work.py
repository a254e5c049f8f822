"""A service's application object and the one way it commits.

`Application(DeskClass)` is a DependencyProvider: `self.desk` in a worker is a `DeskClass(worker)`, whose
domain verbs read the worker's own `db`, `outbox`, `pii` and `clock` when they run (nameko injects a
worker's dependencies in no set order, so none is read at injection). A `service.py` then only routes:
validate input, call one verb, return its view.

`@transactional` on a verb commits the session once the verb returns, or rolls it back if it raised. The
outbox writer adds its rows to that same session, so a change and the events it wrote commit together or
not at all. The commit happens before the RPC reply is sent: an open SQLite write transaction must never
wait on network I/O (see shared/platform/db.py).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable

from nameko.extensions import DependencyProvider
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


def transactional(verb):
    """Commit what the verb changed (its outbox rows with it), or roll it all back."""

    @functools.wraps(verb)
    def wrapper(desk, *args, **kwargs):
        try:
            result = verb(desk, *args, **kwargs)
            desk.db.commit()
            return result
        except BaseException:
            desk.db.rollback()
            raise

    return wrapper


def one_transaction_each(session: Session, items: Iterable, step: Callable, what: str = "item") -> int:
    """Run `step(item)` for each item in a transaction of its own, so one bad item never blocks the others;
    returns the sum of what the steps returned (None counts 0)."""
    session.rollback()  # end the read that listed the items before the first write
    done = 0
    for item in items:
        try:
            done += step(item) or 0
            session.commit()
        except Exception:
            session.rollback()
            log.exception("sweep step failed for %s %s", what, item)
    return done


class WorkerDesk:
    """The base of an application object: the worker's dependencies, read when a verb runs."""

    def __init__(self, worker):
        self.worker = worker

    @property
    def db(self) -> Session:
        return self.worker.db

    @property
    def outbox(self):
        return self.worker.outbox

    @property
    def pii(self):
        return self.worker.pii

    @property
    def clock(self):
        return self.worker.clock


class Application(DependencyProvider):
    """`self.desk`: the service's application object for the running worker."""

    def __init__(self, desk_class: type[WorkerDesk]):
        self.desk_class = desk_class

    def get_dependency(self, worker_ctx) -> WorkerDesk:
        return self.desk_class(worker_ctx.service)
