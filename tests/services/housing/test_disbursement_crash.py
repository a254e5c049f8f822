"""A housing process killed in the middle of a disbursement job resumes it after a restart and pays each
subsidy exactly once, SQLite and PostgreSQL. The kills are the fault suite's crash points
(shared/platform/crashpoints.py), both armed before the job starts, so they fire in a known order:

1. `housing.jobs.before_commit` in the first chunk: its payments and events were written, not committed;
2. `housing.jobs.after_commit` in the first chunk of the restarted process: that chunk is committed.

The job is queued in the database as `run_disbursement` queues it, before the process starts: started over
RPC, the first kill could come before the reply (the runner starts the moment the job is committed), a case
the start's idempotency covers (a redelivered or repeated start returns the same job) but not this test.
Each time the service is started again the way `make start` does (ops.launcher) and carries on alone."""

from __future__ import annotations

from collections import Counter

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.utils import find_free_port
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench.housing_disbursement import seed
from ops.launcher import start_service, stop_service, wait_healthy
from services.housing import disbursement
from services.housing.models import Disbursement, Job
from shared.platform.clock import utcnow
from shared.platform.db import make_engine
from shared.platform.jobs import new_job
from shared.platform.models import OutboxMessage
from tests.services.housing.conftest import EventCapture
from tests.support.databases import migrate
from tests.support.jobs import until_finished
from tests.support.tokens import PUBLIC_KEYS
from tests.support.waiting import wait_for

SUBSIDIES, CHUNK = 50, 10
CRASH_POINTS = ("housing.jobs.before_commit", "housing.jobs.after_commit")


@pytest.fixture
def housing_process(db_url, rabbit_config, tmp_path):
    """housing as a process with the crash points armed, on a seeded database where 2025-06 is due."""
    migrate("housing", db_url)
    engine = make_engine(db_url)
    with Session(engine) as session:
        seed(session, SUBSIDIES)
    with Session(engine) as session:
        job = new_job(Job, "housing", disbursement.JOB, "2025-06", {"period": "2025-06", "backfill": False},
                      "ops", utcnow(), SUBSIDIES)  # fmt: skip
        session.add(job)
        session.commit()
        job_id = job.id
    (tmp_path / "crash").mkdir()
    for point in CRASH_POINTS:
        (tmp_path / "crash" / point).touch()
    env = {
        "AMQP_URI": rabbit_config["AMQP_URI"],
        "HOUSING_DATABASE_URL": db_url,
        "HOUSING_HTTP_ADDRESS": f"127.0.0.1:{find_free_port()}",
        "JWT_PUBLIC_KEYS": PUBLIC_KEYS,
        "JWT_REVOCATION_LIST": str(tmp_path / "revoked"),
        "ENV": "test",
        "CLOCK_START": "2025-06-15T12:00:00+08:00",
        "HOUSING_JOB_CHUNK_SIZE": str(CHUNK),
        "JOBS_POLL_SECONDS": "0.2",
        "OUTBOX_SWEEP_SECONDS": "0.5",
        "NEWCITIZEN_CRASH_DIR": str(tmp_path / "crash"),
    }

    yield env, tmp_path, engine, job_id
    stop_service("housing", tmp_path)
    engine.dispose()


def test_a_job_killed_mid_chunk_and_between_chunks_pays_each_subsidy_once(housing_process, token_for):
    env, run_dir, engine, job_id = housing_process
    capture = EventCapture(env["AMQP_URI"])
    admin_context = {"authorization": token_for("ops", "admin")}
    for point in CRASH_POINTS:  # its runner takes the job up as it starts, and dies at the point
        start_service("housing", env, run_dir)
        marker = run_dir / "crash" / point
        wait_for(lambda marker=marker: not marker.exists(), timeout=60, what=f"housing passed {point}")
        stop_service("housing", run_dir)  # the process killed itself: this only reaps it
    start_service("housing", env, run_dir)
    assert not wait_healthy(["housing"], env, run_dir=run_dir), (run_dir / "log" / "housing.log").read_text()
    with ServiceRpcProxy("housing", {"AMQP_URI": env["AMQP_URI"]}, context_data=admin_context) as admin:
        done = until_finished(admin, {"job_id": job_id})
    assert done["status"] == "completed", done
    assert done["result"]["paid"] == SUBSIDIES and done["chunks"] == SUBSIDIES // CHUNK + 1, done

    with Session(engine) as session:
        paid = Counter(
            dict(session.execute(select(Disbursement.resident_id, func.count()).group_by("resident_id")).all())
        )
        rows = session.scalar(select(func.count()).where(OutboxMessage.routing_key == "subsidy_disbursed"))
    assert len(paid) == SUBSIDIES and set(paid.values()) == {1}
    assert rows == SUBSIDIES  # the killed chunk's events were rolled back with its payments

    def every_event_published():
        with Session(engine) as session:
            return not session.scalar(select(func.count()).where(OutboxMessage.published_at.is_(None)))

    wait_for(every_event_published, timeout=60, what="the outbox relayed (or swept) every event")
    capture.drain(until=lambda seen: len(capture.of_type("subsidy_disbursed")) >= SUBSIDIES)
    capture.close()
    events = Counter(event["data"]["resident_id"] for event in capture.of_type("subsidy_disbursed"))
    assert set(events) == set(paid) and set(events.values()) == {1}
