"""Personal-data retention: each service declares what it keeps and for how long; a purge erases what is due.

    retention_rules = (
        RetentionRule("notification_body", 180, due=lambda cutoff: select(Notification.id).where(...),
                      erase=lambda session, ids: session.execute(update(Notification)...)),
    )

Periods come from config (`RETENTION_DAYS: {kind: days}`), defaulting to the rule's own. A purge works in
batches, each committed on its own, so a crash loses nothing and the next run carries on; a row erased
no longer matches its rule's `due` query, which is what makes it resumable and idempotent. In a service the
purge is a job (`purge_kind`, shared/platform/jobs.py): a batch per chunk, one active purge per service
whichever replica or timer starts it, its progress in `job_status`. Figures in stats come from events, not
from these rows, so a purge never changes them.

Every service also gets `PLATFORM_RULES` (its outbox and its processed-event ledger, which every service
database has) and `finished_jobs` of its own jobs table; a record kept on purpose is declared as `Kept`, so
the report says so instead of hiding it.
The periods' reasoning is in docs/operations.md ("Retention") and docs/decisions.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, func, select, tuple_
from sqlalchemy.orm import Session

from shared.platform.jobs import Chunk, ChunkContext, JobKind
from shared.platform.models import OutboxMessage, ProcessedEvent

DEFAULT_BATCH = 500
PUBLISHED_OUTBOX_DAYS = 7
LEDGER_DAYS = 35
# a dead letter is replayed only while every ledger row it could collide with is certainly still there
DLQ_REPLAY_MARGIN_DAYS = 7
FINISHED_JOBS_DAYS = 90
PURGE_JOB = "retention_purge"
PURGE_KEY = "retention"  # one active purge per service: a second start, by anyone, is the same job


@dataclass(frozen=True)
class RetentionRule:
    kind: str
    default_days: int
    due: Callable[[datetime], Select]  # selects the keys of rows whose data is due for erasure
    erase: Callable[[Session, list], None]
    description: str = ""
    tables: tuple[str, ...] = ()  # the tables whose personal columns it erases (tests/shared/test_retention_cover.py)


@dataclass(frozen=True)
class Kept:
    """A record that has no retention period on purpose; the purge reports it and erases nothing."""

    kind: str
    reason: str
    description: str = ""
    tables: tuple[str, ...] = ()


def retention_days(config: dict, rule: RetentionRule) -> int:
    return int((config.get("RETENTION_DAYS") or {}).get(rule.kind, rule.default_days))


def purge(
    session_factory: Callable[[], Session],
    rules: Iterable[RetentionRule],
    config: dict,
    now: datetime,
    dry_run: bool = True,
    batch_size: int = DEFAULT_BATCH,
) -> dict:
    """Returns {kind: {"days": d, "cutoff": iso, "due" or "erased": n}} for every rule."""
    report = {}
    for rule in rules:
        if isinstance(rule, Kept):
            report[rule.kind] = {"kept": rule.reason, "description": rule.description}
            continue
        days = retention_days(config, rule)
        cutoff = now - timedelta(days=days)
        entry = {"days": days, "cutoff": cutoff.isoformat(), "description": rule.description}
        with session_factory() as session:
            if dry_run:
                entry["due"] = session.scalar(select(func.count()).select_from(rule.due(cutoff).subquery())) or 0
            else:
                entry["erased"] = _erase_in_batches(session, rule, cutoff, batch_size)
        report[rule.kind] = entry
    return report


def _erase_in_batches(session: Session, rule: RetentionRule, cutoff: datetime, batch_size: int) -> int:
    erased = 0
    while keys := _erase_batch(session, rule, cutoff, batch_size):
        session.commit()
        erased += keys
    return erased


def _erase_batch(session: Session, rule: RetentionRule, cutoff: datetime, batch_size: int) -> int:
    """Erase up to `batch_size` of what is due, in the session's transaction; how many."""
    keys = [row[0] if len(row) == 1 else tuple(row) for row in session.execute(rule.due(cutoff).limit(batch_size))]
    if keys:
        rule.erase(session, keys)
    return len(keys)


def purge_kind(rules: Iterable[RetentionRule | Kept]) -> JobKind:
    """The purge as a job: a chunk erases one batch of one rule's due rows (the cursor is the rule's place);
    a rule's last batch, shorter than a chunk, moves it to the next. Its result counts what each rule erased."""
    erasable = [rule for rule in rules if isinstance(rule, RetentionRule)]

    def chunk(context: ChunkContext) -> Chunk:
        place = int(context.cursor or 0)
        if place >= len(erasable):
            return Chunk(str(place), finished=True)
        rule = erasable[place]
        cutoff = context.now - timedelta(days=retention_days(context.config, rule))
        erased = _erase_batch(context.session, rule, cutoff, context.size)
        if erased < context.size:  # the rule has nothing more due: the next chunk takes the next rule
            place += 1
        return Chunk(str(place), done=erased, counts={rule.kind: erased}, finished=place >= len(erasable))

    return JobKind(chunk, roles=("admin",), size=DEFAULT_BATCH)


def finished_jobs(job_model) -> RetentionRule:
    """A service's finished jobs (`job_model`, its table of shared.platform.jobs rows), by finished_at: the
    hourly purge alone starts one a replica an hour. An active job is never due."""
    return stamped(
        "finished_jobs",
        FINISHED_JOBS_DAYS,
        job_model.id,
        job_model.finished_at,
        "jobs that completed or failed, by finished_at (who started each is a staff subject)",
    )


def _erase_ledger(session: Session, keys: list) -> None:
    session.execute(
        delete(ProcessedEvent)
        .where(tuple_(ProcessedEvent.consumer, ProcessedEvent.event_id).in_(keys))
        .execution_options(synchronize_session=False)
    )


def stamped(kind: str, days: int, key, stamp, description: str) -> RetentionRule:
    """Rows due once `stamp` is older than the period, never while it is null (the delete checks it again), erased
    by `key` (both columns of one model)."""
    model = key.class_

    def erase(session: Session, keys: list) -> None:
        session.execute(
            delete(model).where(key.in_(keys), stamp.is_not(None)).execution_options(synchronize_session=False)
        )

    return RetentionRule(
        kind,
        days,
        due=lambda cutoff: select(key).where(stamp.is_not(None), stamp < cutoff),
        erase=erase,
        description=description,
        tables=(model.__tablename__,),
    )


# a row is never erased unless the broker confirmed it
PUBLISHED_OUTBOX = stamped(
    "published_outbox",
    PUBLISHED_OUTBOX_DAYS,
    OutboxMessage.event_id,
    OutboxMessage.published_at,
    "outbox rows the broker confirmed, by published_at; an unpublished row is never due",
)
PROCESSED_EVENTS = RetentionRule(
    "processed_events",
    LEDGER_DAYS,
    due=lambda cutoff: select(ProcessedEvent.consumer, ProcessedEvent.event_id).where(
        ProcessedEvent.processed_at < cutoff
    ),
    erase=_erase_ledger,
    description="the consumers' ledger of handled event ids, by processed_at",
    tables=(ProcessedEvent.__tablename__,),
)
PLATFORM_RULES = (PUBLISHED_OUTBOX, PROCESSED_EVENTS)


def kept_pseudonyms(*tables: str) -> Kept:
    """Rows whose only personal data is the `resident_id` pseudonym, kept on purpose (docs/privacy.md)."""
    return Kept("resident_pseudonyms", "kept: figures and the audit trail depend on resident_id",
                "resident_id pseudonyms only, no name, ID number or phone", tables)  # fmt: skip


def dlq_replay_window(config: dict) -> timedelta:
    """How old a dead letter may be and still be replayed: the ledger's period less a margin. Older, the
    ledger row that would make its replay a duplicate may be gone, and the replay would apply it twice."""
    return timedelta(days=retention_days(config, PROCESSED_EVENTS) - DLQ_REPLAY_MARGIN_DAYS)
