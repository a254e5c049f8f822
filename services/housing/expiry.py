"""The expiry sweeps as jobs (shared/platform/jobs.py): subsidies whose term is over without re-certification,
leases over without renewal.

`end_expired_subsidies` / `end_expired_tenancies` and the hourly `expire_terms` timer start them and return at
once; the runner ends a page of cases per chunk, in one transaction with their outbox events and the job's
cursor (the last case id ended), so a sweep over many cases never holds a long transaction or an RPC, survives
a restart, and runs on one replica at a time whichever of them started it (one active job per kind and
as-of key). The timer starts a sweep only when a case is due, so an idle hour leaves no job row behind.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.housing import subsidy, tenancy
from services.housing.models import SubsidyApplication, Tenancy
from shared.platform.jobs import Chunk, ChunkContext, JobKind

SUBSIDIES = "subsidy_expiry"
TENANCIES = "tenancy_expiry"
PAGE = 500


def _subsidies(params: dict):
    return subsidy.expired(params["as_of_period"])


def _tenancies(params: dict):
    return tenancy.expired(date.fromisoformat(params["as_of"]))


def _end_subsidy(context: ChunkContext, application: SubsidyApplication) -> None:
    subsidy.end(context.session, context.outbox, application, "term_expired", context.now)


def _end_lease(context: ChunkContext, lease: Tenancy) -> None:
    tenancy.end_lease(context.session, context.outbox, lease, "lease_expired", context.now)


def _sweep(model, due, end_one) -> JobKind:
    def chunk(context: ChunkContext) -> Chunk:
        cases = context.session.scalars(due(context.params).where(model.id > context.cursor).limit(context.size)).all()
        for case in cases:
            end_one(context, case)
        cursor = cases[-1].id if cases else context.cursor
        return Chunk(cursor, done=len(cases), counts={"ended": len(cases)}, finished=len(cases) < context.size)

    def total(session: Session, params: dict) -> int:
        return session.scalar(select(func.count()).select_from(due(params).subquery())) or 0

    return JobKind(chunk, roles=("admin",), total=total, size=PAGE)


DUE = {SUBSIDIES: _subsidies, TENANCIES: _tenancies}
KINDS = {
    SUBSIDIES: _sweep(SubsidyApplication, _subsidies, _end_subsidy),
    TENANCIES: _sweep(Tenancy, _tenancies, _end_lease),
}


def subsidies_params(as_of_period: str) -> tuple[str, dict]:
    """The job's key and params for the subsidies over before `as_of_period`."""
    return as_of_period, {"as_of_period": as_of_period}


def tenancies_params(as_of: date) -> tuple[str, dict]:
    return as_of.isoformat(), {"as_of": as_of.isoformat()}


def any_due(session: Session, kind: str, params: dict) -> bool:
    found = bool(session.scalar(select(DUE[kind](params).exists())))
    session.rollback()  # end the read
    return found
