"""Monthly disbursement: pay every active subsidy once per household per period, a page at a time.

The service runs it as a job (shared/platform/jobs.py): `run_disbursement` starts the job and returns at once, and the
runner pays one page per chunk, in one transaction with the page's `subsidy_disbursed` outbox rows and the
job's cursor (the last application id paid). A crash loses at most the page in flight; any replica resumes from
the cursor. Each page is stamped with the service clock's time when it is paid. The unique
(resident_id, period) constraint is the guarantee; a look-up of the page's households already paid makes a
re-run (a new job for a period already paid) skip them without writing.

A live run never pays a `legacy` case (imported by one admin, no reviewer's decision yet); a backfill, which
records payments already made on paper, records them too.

`run()` pays a whole period in one call, committing page by page: the benchmark and the direct tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import eventlet
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.housing.models import Disbursement, SubsidyApplication
from services.housing.subsidy import APPROVED
from shared.platform.db import bulk_insert
from shared.platform.ids import new_id
from shared.platform.jobs import Chunk, ChunkContext, JobKind

BATCH_SIZE = 1000
MAX_CONFLICT_RETRIES = 5


@dataclass
class DisbursementResult:
    period: str
    paid: int = 0
    total_fen: int = 0
    already_paid: int = 0
    batches: int = 0

    def as_dict(self) -> dict:
        return {
            "period": self.period,
            "paid": self.paid,
            "total_fen": self.total_fen,
            "already_paid": self.already_paid,
            "batches": self.batches,
        }


JOB = "disbursement"


def _payable(period: str, backfill: bool):
    sub = SubsidyApplication
    live = (sub.status == APPROVED) if backfill else (sub.status == APPROVED) & sub.legacy.is_(False)
    return live & (sub.start_period <= period) & (sub.end_period >= period)


def _page(session: Session, period: str, backfill: bool, after: str, size: int) -> tuple[list, list]:
    """The next page of payable subsidies after `after`, and those of it not yet paid for `period`: keyset
    pagination, then the page's households already paid, two index look-ups per page, so the cost per page
    stays flat however many are paid."""
    sub = SubsidyApplication
    columns = (sub.id, sub.resident_id, sub.town, sub.category, sub.monthly_subsidy_fen, sub.policy_id)
    page = session.execute(
        select(*columns).where(_payable(period, backfill), sub.id > after).order_by(sub.id).limit(size)
    ).all()
    if not page:
        return page, []
    paid = set(
        session.scalars(
            select(Disbursement.resident_id).where(
                Disbursement.period == period, Disbursement.resident_id.in_([row[1] for row in page])
            )
        )
    )
    return page, [row for row in page if row[1] not in paid]


def payable_count(session: Session, params: dict) -> int:
    """How many subsidies the job for `params` goes through (its progress bar's length)."""
    return session.scalar(select(func.count()).where(_payable(params["period"], params["backfill"]))) or 0


def chunk(context: ChunkContext) -> Chunk:
    """One page of the job: paid in the runner's transaction (which commits it with the job's cursor)."""
    period, backfill = context.params["period"], context.params["backfill"]
    page, rows = _page(context.session, period, backfill, context.cursor, context.size)
    result = DisbursementResult(period)
    if not page:
        return Chunk(context.cursor, counts=result.as_dict(), finished=True)
    _write(context.session, context.outbox, period, rows, result, context.now, backfill)
    counts = result.as_dict() | {"already_paid": len(page) - len(rows)}
    return Chunk(page[-1][0], done=len(page), counts=counts, finished=len(page) < context.size)


KIND = JobKind(chunk, roles=("admin",), total=payable_count)


def run(
    session: Session, outbox, clock, period: str, batch_size: int = BATCH_SIZE, backfill: bool = False
) -> DisbursementResult:
    """Pay `period`; `clock` is the service's (`clock.now()` stamps each batch)."""
    result = DisbursementResult(period)
    after, conflicts = "", 0
    while True:
        page, rows = _page(session, period, backfill, after, batch_size)
        session.rollback()  # end the read transaction: nothing is held while the batch is built
        if not page:
            break
        if rows and not _pay(session, outbox, period, rows, result, clock.now(), backfill):
            conflicts += 1  # a concurrent run paid some of these households first: redo the page
            if conflicts > MAX_CONFLICT_RETRIES:
                raise RuntimeError(f"disbursement of {period} keeps colliding with a concurrent run")
            continue
        after = page[-1][0]
        # between pages nothing is held: let other greenlets run (the relay starts publishing this run's
        # events, other RPCs are served; SQLite calls never yield on their own)
        eventlet.sleep(0)
    total_for_period = session.scalar(select(func.count()).where(Disbursement.period == period)) or 0
    session.rollback()
    result.already_paid = total_for_period - result.paid
    return result


def _pay(session: Session, outbox, period: str, rows, result: DisbursementResult, now, backfill: bool = False) -> bool:
    """One transaction: the payments and their events, paid at `now`. False if the unique constraint refused a
    payment."""
    try:
        _write(session, outbox, period, rows, result, now, backfill)
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


def _write(session: Session, outbox, period: str, rows, result: DisbursementResult, now, backfill: bool) -> None:
    """The payments and their events, in the session's transaction; counted in `result`."""
    payments, events = [], []
    for application_id, resident_id, town, category, amount, policy_id in rows:
        disbursement_id = new_id()
        payments.append(
            {
                "id": disbursement_id,
                "application_id": application_id,
                "resident_id": resident_id,
                "period": period,
                "amount_fen": amount,
                "policy_id": policy_id,
                "disbursed_at": now,
            }
        )
        events.append(
            {
                "application_id": application_id,
                "resident_id": resident_id,
                "town": town,
                "category": category,
                "disbursement_id": disbursement_id,
                "period": period,
                "amount_fen": amount,
                "disbursed_at": now.isoformat(),
                "backfill": backfill,
            }
        )
    if not payments:
        return
    bulk_insert(session, Disbursement.__table__, payments)
    outbox.add_many("subsidy_disbursed", events)
    result.paid += len(payments)
    result.total_fen += sum(payment["amount_fen"] for payment in payments)
    result.batches += 1
