"""Monthly disbursement: pay every active subsidy once per household per period, streamed in batches.

Each batch is one transaction: the payment rows and their `subsidy_disbursed` outbox rows commit
together. The unique (resident_id, period) constraint is the guarantee; the NOT EXISTS filter makes a
re-run (or a run resumed after a crash) skip the households already paid without touching them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, exists, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.housing.cases import new_id, now_utc
from services.housing.models import Disbursement, SubsidyApplication
from services.housing.subsidy import APPROVED

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


def run(session: Session, outbox, period: str, batch_size: int = BATCH_SIZE) -> DisbursementResult:
    result = DisbursementResult(period)
    sub = SubsidyApplication
    paid_already = exists().where(and_(Disbursement.resident_id == sub.resident_id, Disbursement.period == period))
    columns = (sub.id, sub.resident_id, sub.town, sub.category, sub.monthly_subsidy_fen, sub.policy_id)
    after, conflicts = "", 0
    while True:
        rows = session.execute(
            select(*columns)
            .where(
                sub.status == APPROVED,
                sub.start_period <= period,
                sub.end_period >= period,
                sub.id > after,
                ~paid_already,
            )
            .order_by(sub.id)
            .limit(batch_size)
        ).all()
        session.rollback()  # end the read transaction: nothing is held while the batch is built
        if not rows:
            break
        now = now_utc()
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
                }
            )
        try:
            session.execute(insert(Disbursement.__table__).values(payments))
            outbox.add_many("subsidy_disbursed", events)
            session.commit()
        except IntegrityError:
            # a concurrent run paid some of these households first: redo this batch without them
            session.rollback()
            conflicts += 1
            if conflicts > MAX_CONFLICT_RETRIES:
                raise
            continue
        after = rows[-1][0]
        result.paid += len(rows)
        result.total_fen += sum(payment["amount_fen"] for payment in payments)
        result.batches += 1
    total_for_period = session.scalar(select(func.count()).where(Disbursement.period == period)) or 0
    session.rollback()
    result.already_paid = total_for_period - result.paid
    return result
