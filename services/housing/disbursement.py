"""Monthly disbursement: pay every active subsidy once per household per period, streamed in batches.

Each batch is one transaction: the payment rows and their `subsidy_disbursed` outbox rows commit
together. This is the one housing module that commits, on purpose: a run pays the whole county, and one
transaction for all of it would hold SQLite's write lock for the whole run and lose every batch to one failure;
the desk's `run_disbursement` is therefore not `@transactional`. Each batch is stamped with the service clock's
time when it is paid. The unique (resident_id, period) constraint is the guarantee; a look-up of the page's
households already paid makes a re-run (or a run resumed after a crash) skip them without writing.

A live run never pays a `legacy` case (imported by one admin, no reviewer's decision yet); a backfill, which
records payments already made on paper, records them too.
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


def run(
    session: Session, outbox, clock, period: str, batch_size: int = BATCH_SIZE, backfill: bool = False
) -> DisbursementResult:
    """Pay `period`; `clock` is the service's (`clock.now()` stamps each batch)."""
    result = DisbursementResult(period)
    sub = SubsidyApplication
    columns = (sub.id, sub.resident_id, sub.town, sub.category, sub.monthly_subsidy_fen, sub.policy_id)
    after, conflicts = "", 0
    payable = sub.status == APPROVED if backfill else (sub.status == APPROVED) & sub.legacy.is_(False)
    while True:
        # keyset pagination over the active subsidies, then the households of this page already paid:
        # two index look-ups per page, so the cost per page stays flat however many are paid
        page = session.execute(
            select(*columns)
            .where(payable, sub.start_period <= period, sub.end_period >= period, sub.id > after)
            .order_by(sub.id)
            .limit(batch_size)
        ).all()
        if not page:
            session.rollback()
            break
        paid = set(
            session.scalars(
                select(Disbursement.resident_id).where(
                    Disbursement.period == period, Disbursement.resident_id.in_([row[1] for row in page])
                )
            )
        )
        session.rollback()  # end the read transaction: nothing is held while the batch is built
        rows = [row for row in page if row[1] not in paid]
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
    try:
        bulk_insert(session, Disbursement.__table__, payments)
        outbox.add_many("subsidy_disbursed", events)
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    result.paid += len(payments)
    result.total_fen += sum(payment["amount_fen"] for payment in payments)
    result.batches += 1
    return True
