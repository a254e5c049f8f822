"""stats's database work: archive an envelope and apply its facts, read figures, refold the archive.

Applying a batch of envelopes costs one archive insert and one upsert statement per figure table, its rows
the batch's facts summed by key: the live figures are updated incrementally in the consumer's transaction,
never refolded per event. Upserts run in key
order, so two consumers touching the same rows on PostgreSQL lock them in the same order (no deadlock).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from datetime import datetime

from sqlalchemy import Insert, Select, delete, distinct, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.stats.figures import headline
from services.stats.fold import Facts, Figures, facts_of, is_counter, latest_of
from services.stats.models import ArchivedEvent, FigureLatest, FigureMember, FigureTotal
from shared.platform.contracts import registry
from shared.platform.models import utcnow

REFOLD_BATCH = 2000
KEY_COLUMNS = ("year", "town", "category", "metric")


def archive_body(envelope: Mapping) -> str:
    """The envelope as JSON, its data dumped back through its contract (the form `build_envelope` makes)."""
    contract = registry.get(envelope["source"], envelope["event_type"], envelope["version"])
    data = contract.loader().dump(envelope["data"]) if contract else envelope["data"]
    occurred_at = envelope["occurred_at"]
    body = {
        "event_id": str(envelope["event_id"]),
        "event_type": envelope["event_type"],
        "source": envelope["source"],
        "version": envelope["version"],
        "occurred_at": occurred_at.isoformat() if isinstance(occurred_at, datetime) else occurred_at,
        "correlation_id": envelope.get("correlation_id"),
        "data": data,
    }
    return json.dumps(body, ensure_ascii=False, sort_keys=True)


def record(session: Session, envelope: Mapping) -> Facts:
    """Archive the envelope and add its facts to the live figures, in the caller's transaction."""
    return record_many(session, [envelope])


def record_many(session: Session, envelopes: list[Mapping]) -> Facts:
    """Archive the envelopes and add their facts to the live figures, in the caller's transaction: one
    archive statement and one upsert statement per figure table for the whole batch (facts of one key
    summed first), whatever its size. Returns the batch's facts."""
    figures = Figures()
    for envelope in envelopes:
        figures.add(facts_of(envelope))  # a FoldError before anything is written
    archive, *_upserts = statements(session.get_bind().dialect.name)
    now = utcnow()
    session.execute(archive, [_archive_row(envelope, now) for envelope in envelopes])
    facts = Facts(tuple(figures.totals.items()), tuple(figures.members), tuple(figures.latest.items()))
    apply(session, facts)
    return facts


def _archive_row(envelope: Mapping, now: datetime) -> dict:
    occurred_at = envelope["occurred_at"]
    return {
        "event_id": str(envelope["event_id"]),
        "source": envelope["source"],
        "event_type": envelope["event_type"],
        "version": envelope["version"],
        "occurred_at": occurred_at if isinstance(occurred_at, datetime) else datetime.fromisoformat(occurred_at),
        "archived_at": now,
        "body": archive_body(envelope),
    }


@functools.cache
def statements(dialect: str) -> tuple[Insert, Insert, Insert, Insert]:
    """Core statements built once per dialect, so SQLAlchemy compiles each once (the per-event path)."""
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    total = upsert(FigureTotal.__table__)
    total = total.on_conflict_do_update(
        index_elements=list(KEY_COLUMNS), set_={"value": FigureTotal.__table__.c.value + total.excluded.value}
    )
    member = upsert(FigureMember.__table__).on_conflict_do_nothing()
    latest = upsert(FigureLatest.__table__)
    latest = latest.on_conflict_do_update(
        index_elements=list(KEY_COLUMNS),
        set_={"rank": latest.excluded.rank, "value": latest.excluded.value},
        where=latest.excluded.rank > FigureLatest.__table__.c.rank,  # an older snapshot arriving late loses
    )
    return insert(ArchivedEvent.__table__), total, member, latest


def apply(session: Session, facts: Facts) -> None:
    """One upsert statement per table (executemany), its rows in key order."""
    _archive, total, member, latest = statements(session.get_bind().dialect.name)
    for statement, rows, column in ((total, facts.totals, "value"), (member, facts.members, "member")):
        if rows:
            session.execute(
                statement, [{**dict(zip(KEY_COLUMNS, key, strict=True)), column: v} for key, v in sorted(rows)]
            )
    if facts.latest:
        rows = [
            {**dict(zip(KEY_COLUMNS, key, strict=True)), "rank": r, "value": v} for key, (r, v) in sorted(facts.latest)
        ]
        session.execute(latest, rows)


def _where(statement: Select, model, years: tuple[int, int] | None, town: str | None) -> Select:
    if years is not None:
        statement = statement.where(model.year.between(*years))
    if town is not None:
        statement = statement.where(model.town == town)
    return statement


def grouped(
    session: Session, by: str | None, years: tuple[int, int] | None = None, town: str | None = None
) -> dict[object, tuple[dict[str, int], dict[str, int]]]:
    """{group: (sums by metric, distinct counts by metric)} for the selection; group None when `by` is None."""
    result: dict[object, tuple[dict[str, int], dict[str, int]]] = {}
    for model, aggregate, slot in (
        (FigureTotal, func.sum(FigureTotal.value), 0),
        (FigureMember, func.count(distinct(FigureMember.member)), 1),
    ):
        columns = [getattr(model, by)] if by else []
        statement = _where(select(*columns, model.metric, aggregate), model, years, town)
        statement = statement.group_by(*columns, model.metric)
        for row in session.execute(statement):
            group = row[0] if by else None
            result.setdefault(group, ({}, {}))[slot][row[-2]] = int(row[-1])
    columns = [getattr(FigureLatest, by)] if by else []
    ranked: dict[object, list] = {}
    statement = select(*columns, FigureLatest.metric, FigureLatest.rank, FigureLatest.value)
    for row in session.execute(_where(statement, FigureLatest, years, town)):
        ranked.setdefault(row[0] if by else None, []).append((row[-3], (row[-2], int(row[-1]))))
    for group, snapshots in ranked.items():
        result.setdefault(group, ({}, {}))[0].update(latest_of(snapshots))  # a snapshot's latest, never a sum
    return result


def figures_for(session: Session, years: tuple[int, int] | None = None, town: str | None = None) -> dict:
    sums, counts = grouped(session, None, years, town).get(None, ({}, {}))
    return {"counters": {m: v for m, v in sums.items() if is_counter(m)}, **headline(sums, counts)}


def breakdown(session: Session, by: str, years: tuple[int, int] | None = None, town: str | None = None) -> dict:
    return {
        group: headline(sums, counts) for group, (sums, counts) in sorted(grouped(session, by, years, town).items())
    }


def archived_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ArchivedEvent)) or 0


def live_figures(session: Session) -> Figures:
    figures = Figures()
    for row in session.execute(select(FigureTotal)).scalars():
        figures.totals[(row.year, row.town, row.category, row.metric)] = row.value
    for row in session.execute(select(FigureMember)).scalars():
        figures.members.add(((row.year, row.town, row.category, row.metric), row.member))
    for row in session.execute(select(FigureLatest)).scalars():
        figures.latest[(row.year, row.town, row.category, row.metric)] = (row.rank, row.value)
    return figures


def archived_envelopes(session: Session, batch: int = REFOLD_BATCH) -> Iterator[dict]:
    """Every archived envelope as stored (JSON), in archive order, read in batches by sequence number."""
    after = 0
    while True:
        rows = session.execute(
            select(ArchivedEvent.seq, ArchivedEvent.body)
            .where(ArchivedEvent.seq > after)
            .order_by(ArchivedEvent.seq)
            .limit(batch)
        ).all()
        for _seq, body in rows:
            yield json.loads(body)
        if len(rows) < batch:
            return
        after = rows[-1][0]


def begin_snapshot(session: Session) -> None:
    """Make the session's next reads see one consistent snapshot (archive and live tables together)."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    else:
        # pysqlite opens transactions only for writes; an explicit BEGIN pins a WAL read snapshot
        session.connection().exec_driver_sql("BEGIN")


def lock_for_repair(session: Session) -> None:
    """Hold the live tables against consumers while they are refolded and replaced.

    A consumer inserts its archive row, then blocks on the live tables until the repair commits, so its
    envelope is in neither the refold nor the replaced figures, and it applies its facts afterwards.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE stat_totals, stat_members, stat_latest IN EXCLUSIVE MODE"))
    else:
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")


def replace_live(session: Session, figures: Figures) -> None:
    session.execute(delete(FigureTotal))
    session.execute(delete(FigureMember))
    session.execute(delete(FigureLatest))
    totals = [dict(zip(KEY_COLUMNS, key, strict=True), value=value) for key, value in figures.totals.items()]
    members = [dict(zip(KEY_COLUMNS, key, strict=True), member=member) for key, member in figures.members]
    latest = [dict(zip(KEY_COLUMNS, key, strict=True), rank=r, value=v) for key, (r, v) in figures.latest.items()]
    for model, rows in ((FigureTotal, totals), (FigureMember, members), (FigureLatest, latest)):
        for start in range(0, len(rows), REFOLD_BATCH):
            session.execute(insert(model), rows[start : start + REFOLD_BATCH])


def rebuild(session: Session, repair: bool = False) -> dict:
    """Refold the whole archive and compare with the live figures; with `repair`, replace them if they differ."""
    if repair:
        lock_for_repair(session)
    else:
        begin_snapshot(session)
    live = live_figures(session)
    refolded = Figures()
    events = 0
    for envelope in archived_envelopes(session):
        refolded.add(facts_of(envelope))
        events += 1
    equal = live == refolded
    result = {
        "equal": equal,
        "events": events,
        "differences": live.differences(refolded),
        "live": headline(live.sums(), live.distinct()),
        "refolded": headline(refolded.sums(), refolded.distinct()),
        "repaired": False,
    }
    if repair and not equal:
        replace_live(session, refolded)
        session.commit()
        result["repaired"] = True
    else:
        session.rollback()
    return result
