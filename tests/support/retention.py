"""One retention rule run on a migrated service database at an instant the test chooses
(shared/platform/retention.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from shared.platform.db import make_engine
from shared.platform.retention import RetentionRule, purge
from tests.support.databases import migrate


def migrated(service: str, db_url: str) -> Engine:
    migrate(service, db_url)
    return make_engine(db_url)


def purged(engine: Engine, rules: Iterable, kind: str, now: datetime) -> int:
    """Rule `kind` of `rules`: a dry run's count, then a purge that erases exactly that many, then a second
    that erases none."""
    [rule] = [rule for rule in rules if isinstance(rule, RetentionRule) and rule.kind == kind]
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    due = purge(factory, (rule,), {}, now)[kind]["due"]
    assert purge(factory, (rule,), {}, now, dry_run=False, batch_size=1)[kind]["erased"] == due
    assert purge(factory, (rule,), {}, now, dry_run=False)[kind]["erased"] == 0
    return due


def rows_by(engine: Engine, model, key: str) -> dict:
    """Every row of `model` afterwards, by its `key` column; the engine is done with."""
    with Session(engine) as session:
        found = {getattr(row, key): row for row in session.scalars(select(model))}
    engine.dispose()
    return found
