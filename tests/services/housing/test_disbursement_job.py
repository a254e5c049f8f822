"""A disbursement is a job (shared/platform/jobs.py) on a running housing service, SQLite and PostgreSQL: the RPC
returns before any payment, the runner pays a page per chunk, each chunk commits on its own, `job_status`
reports progress to the roles that may start the job, and a second start while it runs is the same job.

The runner is held between chunks by a gate the test opens one chunk at a time (`GatedRunner`), so every
intermediate state is observed, not raced."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench.housing_disbursement import seed
from services.housing import disbursement
from services.housing.models import Disbursement
from services.housing.service import HousingService
from shared.platform.clock import Clock
from shared.platform.db import make_engine
from shared.platform.errors import Forbidden, NotFound
from shared.platform.jobs import MAX_CHUNK_FAILURES, JobKind, JobRunner
from shared.platform.models import OutboxMessage
from tests.support.databases import migrate
from tests.support.jobs import GatedRunner, until_finished
from tests.support.waiting import wait_for

SUBSIDIES = 5
CHUNK = 2
JUNE_IS_DUE = datetime(2025, 6, 15, 4, tzinfo=UTC)


@pytest.fixture
def housing(db_url, service_config, container_factory, token_for):
    """A housing service, 2025-06 due, 5 subsidies, 2 per chunk; returns (admin proxy, runner, engine)."""
    migrate("housing", db_url)
    engine = make_engine(db_url)
    with Session(engine) as session:
        seed(session, SUBSIDIES)
    container = container_factory(HousingService, service_config(db_url, JOB_CHUNK_SIZE=CHUNK, JOBS_POLL_SECONDS=0.1))
    runner = next(dep for dep in container.dependencies if isinstance(dep, JobRunner))
    gate = GatedRunner(runner)
    container.start()
    next(dep for dep in container.dependencies if isinstance(dep, Clock)).frozen = JUNE_IS_DUE
    proxies = []

    def proxy(subject: str, *roles: str):
        rpc = ServiceRpcProxy("housing", container.config, context_data={"authorization": token_for(subject, *roles)})
        proxies.append(rpc)
        return rpc.start()

    yield proxy, runner, gate, engine
    for rpc in proxies:
        rpc.stop()
    engine.dispose()


def payments(engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Disbursement))


def disbursed_events(engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).where(OutboxMessage.routing_key == "subsidy_disbursed"))


def test_the_rpc_returns_the_job_before_any_payment_and_status_follows_each_chunk(housing):
    proxy, _, gate, engine = housing
    admin = proxy("ops", "admin")
    job = admin.run_disbursement("2025-06")
    assert job["job_id"].startswith("housing.") and (job["kind"], job["key"]) == ("disbursement", "2025-06")
    assert (job["status"], job["done"], job["total"], job["started_by"]) == ("queued", 0, SUBSIDIES, "ops")
    assert payments(engine) == 0  # the runner has not been let through once: the RPC did no work
    assert admin.run_disbursement("2025-06")["job_id"] == job["job_id"]  # a second start: the same job

    seen = []
    for chunk in (1, 2, 3):
        gate.open()
        state = wait_for(lambda n=chunk: (s := admin.job_status(job["job_id"]))["chunks"] == n and s, what="a chunk")
        seen.append((state["status"], state["done"], payments(engine)))
    assert seen == [("running", 2, 2), ("running", 4, 4), ("completed", 5, 5)]
    assert state["result"] == {"period": "2025-06", "paid": 5, "total_fen": 5 * 63000, "already_paid": 0, "batches": 3}
    assert disbursed_events(engine) == SUBSIDIES

    gate.open(10)  # a start after the job finished is a new job, which pays nobody twice
    again = until_finished(admin, admin.run_disbursement("2025-06"))
    assert again["job_id"] != job["job_id"]
    assert (again["result"]["paid"], again["result"]["already_paid"]) == (0, SUBSIDIES)
    assert payments(engine) == SUBSIDIES


def test_each_chunk_commits_on_its_own_and_a_failed_one_is_retried_whole(housing, monkeypatch):
    proxy, runner, gate, engine = housing
    calls = []

    def second_chunk_fails(context):
        chunk = disbursement.chunk(context)  # its payments and events are written, then it fails
        calls.append(chunk.cursor)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return chunk

    monkeypatch.setitem(runner.kinds, "disbursement", JobKind(second_chunk_fails, roles=("admin",)))
    admin = proxy("ops", "admin")
    job = admin.run_disbursement("2025-06")
    gate.open(2)
    failed = wait_for(lambda: (s := admin.job_status(job["job_id"]))["error"] and s, what="the failed chunk")
    assert (failed["status"], failed["chunks"], failed["done"], failed["error"]) == ("running", 1, 2, "RuntimeError")
    assert (payments(engine), disbursed_events(engine)) == (2, 2)  # the first chunk stayed; the second left nothing

    gate.open(10)
    done = until_finished(admin, job)
    assert (done["status"], done["error"], done["result"]["paid"], done["result"]["batches"]) == (
        "completed",
        None,
        SUBSIDIES,
        3,
    )
    assert calls[1] == calls[2]  # the failed page was paid again from the same cursor
    assert (payments(engine), disbursed_events(engine)) == (SUBSIDIES, SUBSIDIES)


def test_job_status_is_for_the_roles_that_may_start_the_job(housing):
    proxy, _, _, _ = housing
    job = proxy("ops", "admin").run_disbursement("2025-06")
    with pytest.raises(Forbidden):
        proxy("rv-1", "reviewer").job_status(job["job_id"])
    with pytest.raises(Forbidden):
        proxy("rv-1", "reviewer").run_disbursement("2025-06")
    with pytest.raises(NotFound):
        proxy("ops", "admin").job_status("housing.no-such-job")


def test_a_job_whose_chunks_keep_failing_is_failed_and_a_new_start_carries_on(housing, monkeypatch):
    proxy, runner, gate, engine = housing

    def always_fails(context):
        raise RuntimeError("the database went away")

    monkeypatch.setitem(runner.kinds, "disbursement", JobKind(always_fails, roles=("admin",)))
    admin = proxy("ops", "admin")
    job = admin.run_disbursement("2025-06")
    gate.open(MAX_CHUNK_FAILURES)
    failed = until_finished(admin, job)
    assert (failed["status"], failed["error"], failed["chunks"], payments(engine)) == ("failed", "RuntimeError", 0, 0)

    monkeypatch.setitem(runner.kinds, "disbursement", JobKind(disbursement.chunk, roles=("admin",)))
    gate.open(10)
    again = until_finished(admin, admin.run_disbursement("2025-06"))
    assert again["job_id"] != job["job_id"] and again["status"] == "completed"
    assert again["result"]["paid"] == SUBSIDIES == payments(engine)
