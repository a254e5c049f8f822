"""Personal-data retention: each service declares what it keeps and for how long; a purge erases what is due.

    retention_rules = (
        RetentionRule("notification_body", 180, due=lambda cutoff: select(Notification.id).where(...),
                      erase=lambda session, ids: session.execute(update(Notification)...)),
    )

Periods come from config (`RETENTION_DAYS: {kind: days}`), defaulting to the rule's own. A purge works in
batches, each committed on its own, so a crash loses nothing and the next run carries on; a row erased
no longer matches its rule's `due` query, which is what makes it resumable and idempotent. Figures in
stats come from events, not from these rows, so a purge never changes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

DEFAULT_BATCH = 500


@dataclass(frozen=True)
class RetentionRule:
    kind: str
    default_days: int
    due: Callable[[datetime], Select]  # selects the keys of rows whose data is due for erasure
    erase: Callable[[Session, list], None]
    description: str = ""


def retention_days(config: dict, rule: RetentionRule) -> int:
    return int((config.get("RETENTION_DAYS") or {}).get(rule.kind, rule.default_days))


def purge(
    session_factory: Callable[[], Session],
    rules: Iterable[RetentionRule],
    config: dict,
    now: datetime,
    dry_run: bool = True,
    batch_size: int = DEFAULT_BATCH,
    max_batches: int | None = None,
) -> dict:
    """Returns {kind: {"days": d, "cutoff": iso, "due" or "erased": n}} for every rule."""
    report = {}
    for rule in rules:
        days = retention_days(config, rule)
        cutoff = now - timedelta(days=days)
        entry = {"days": days, "cutoff": cutoff.isoformat(), "description": rule.description}
        with session_factory() as session:
            if dry_run:
                entry["due"] = session.scalar(select(func.count()).select_from(rule.due(cutoff).subquery())) or 0
            else:
                entry["erased"] = _erase_in_batches(session, rule, cutoff, batch_size, max_batches)
        report[rule.kind] = entry
    return report


def _erase_in_batches(
    session: Session, rule: RetentionRule, cutoff: datetime, batch_size: int, max_batches: int | None
) -> int:
    erased = batches = 0
    while max_batches is None or batches < max_batches:
        keys = list(session.scalars(rule.due(cutoff).limit(batch_size)))
        if not keys:
            break
        rule.erase(session, keys)
        session.commit()
        erased += len(keys)
        batches += 1
    return erased
