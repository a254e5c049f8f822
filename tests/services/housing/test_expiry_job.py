"""The expiry sweeps are jobs (shared/platform/jobs.py) on a running housing service, SQLite and PostgreSQL: the RPC
returns before any case is ended, the runner ends a page per chunk, and the hourly timer starts a sweep only
when a case is due, as the same job an admin would start."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench.housing_disbursement import seed
from services.housing import expiry
from services.housing.desk import EXPIRY_SWEEP
from services.housing.models import Job, SubsidyApplication
from services.housing.service import HousingService
from shared.platform.audit import case_history
from shared.platform.clock import Clock
from shared.platform.db import make_engine
from shared.platform.errors import Forbidden
from shared.platform.models import OutboxMessage
from tests.services.housing.test_disbursement_job import CHUNK, JUNE_IS_DUE, SUBSIDIES, housing  # noqa: F401
from tests.support.databases import migrate
from tests.support.waiting import wait_for

AFTER_THE_TERMS = datetime(2026, 2, 1, 4, tzinfo=UTC)  # the seeded subsidies' terms end with 2025-12


def audited_ends(engine) -> list[tuple]:
    """(actor, correlation id, reason) of each subsidy's audit record of its end."""
    with Session(engine) as session:
        ids = session.scalars(select(SubsidyApplication.id).order_by(SubsidyApplication.id)).all()
        records = [record for case_id in ids for record in case_history(session, "subsidy_application", case_id)]
    return [(r["actor"], r["correlation_id"], r["reason"]) for r in records if r["to_state"] == "ended"]


def ended(engine) -> tuple[int, int]:
    """Subsidies ended for their term, and `subsidy_ended` events written."""
    with Session(engine) as session:
        cases = session.scalar(select(func.count()).where(SubsidyApplication.end_reason == "term_expired"))
        events = session.scalar(select(func.count()).where(OutboxMessage.routing_key == "subsidy_ended"))
    return cases, events


def test_the_rpc_returns_the_sweep_before_any_case_is_ended_and_the_runner_ends_a_page_per_chunk(housing):  # noqa: F811
    proxy, _, gate, engine = housing
    admin = proxy("ops", "admin")
    job = admin.end_expired_subsidies("2026-01")
    assert (job["kind"], job["key"], job["status"], job["total"]) == (expiry.SUBSIDIES, "2026-01", "queued", SUBSIDIES)
    assert ended(engine) == (0, 0)
    assert admin.end_expired_subsidies("2026-01")["job_id"] == job["job_id"]  # a second start: the same job

    seen = []
    for chunk in (1, 2, 3):
        gate.open()
        state = wait_for(lambda n=chunk: (s := admin.job_status(job["job_id"]))["chunks"] == n and s, what="a chunk")
        seen.append((state["status"], state["done"], ended(engine)))
    assert seen == [("running", CHUNK, (2, 2)), ("running", 2 * CHUNK, (4, 4)), ("completed", SUBSIDIES, (5, 5))]
    assert state["result"] == {"ended": SUBSIDIES}
    assert audited_ends(engine) == [("ops", job["job_id"], "term_expired")] * SUBSIDIES  # as any RPC's change
    with pytest.raises(Forbidden):
        proxy("cw-1", "caseworker").end_expired_tenancies("2026-01-01")


@pytest.fixture
def swept(db_url, service_config, container_factory, monkeypatch):
    """A housing service whose expiry timer ticks every 0.05 s, five subsidies ending with 2025-12, its clock in
    June 2025; returns (the service clock, the engine, the timer's due checks so far)."""
    migrate("housing", db_url)
    engine = make_engine(db_url)
    with Session(engine) as session:
        seed(session, SUBSIDIES)
    checks = []
    real_any_due = expiry.any_due

    def any_due(session, kind, params):
        found = real_any_due(session, kind, params)
        checks.append((kind, params, found))
        return found

    monkeypatch.setattr(expiry, "any_due", any_due)
    config = service_config(db_url, EXPIRY_SWEEP_SECONDS=0.05, JOBS_POLL_SECONDS=0.1, JOB_CHUNK_SIZE=CHUNK)
    container = container_factory(HousingService, config)
    clock = next(dep for dep in container.dependencies if isinstance(dep, Clock))
    clock.frozen = JUNE_IS_DUE
    container.start()
    yield clock, engine, checks
    engine.dispose()


def jobs(engine) -> list[tuple[str, str, str, int | None]]:
    """(kind, key, started by, cases ended) of every job, oldest first."""
    with Session(engine) as session:
        rows = session.scalars(select(Job).order_by(Job.created_at)).all()
        return [(job.kind, job.key, job.started_by, json.loads(job.result).get("ended")) for job in rows]


def test_the_hourly_sweep_starts_a_job_only_when_a_case_is_due(swept):
    clock, engine, checks = swept
    wait_for(lambda: len(checks) >= 4, what="two ticks of the expiry timer")
    assert not any(found for _, _, found in checks) and jobs(engine) == []  # nothing due: no job row

    clock.frozen = AFTER_THE_TERMS
    wait_for(lambda: ended(engine) == (SUBSIDIES, SUBSIDIES), what="the lapsed subsidies ended")
    assert {actor for actor, _, _ in audited_ends(engine)} == {EXPIRY_SWEEP}
    after_the_job(checks)
    started = jobs(engine)
    # one job ended them all; a tick that found them due just before it finished may have started one
    # more, which found nothing (two starts are one job only while the first is active)
    assert sorted(ended for *_, ended in started) in ([SUBSIDIES], [0, SUBSIDIES])
    assert {job[:3] for job in started} == {(expiry.SUBSIDIES, "2026-02", EXPIRY_SWEEP)}
    after_the_job(checks)
    assert jobs(engine) == started  # nothing due any more: no further job, however often the timer ticks


def after_the_job(checks: list) -> None:
    """Two more ticks of the timer than have begun so far, so one began after anything seen until now."""
    ticks = len(checks)
    wait_for(lambda: len(checks) >= ticks + 4, what="two more ticks of the expiry timer")
