"""One retention rule run on a migrated service database at an instant the test chooses (shared/retention.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import sessionmaker

from shared.retention import RetentionRule, purge


def purged(engine, rule: RetentionRule, now: datetime) -> int:
    """A dry run's count, then a purge that erases exactly that many, then a second that erases none."""
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    due = purge(factory, (rule,), {}, now)[rule.kind]["due"]
    assert purge(factory, (rule,), {}, now, dry_run=False, batch_size=1)[rule.kind]["erased"] == due
    assert purge(factory, (rule,), {}, now, dry_run=False)[rule.kind]["erased"] == 0
    return due
