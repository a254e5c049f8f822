"""The purge erases exactly what its rules say is due, in batches, and a second run finds nothing."""

from datetime import timedelta

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.platform.db import make_engine
from shared.platform.errors import Forbidden
from shared.platform.jobs import new_job
from shared.platform.models import SharedBase, utcnow
from shared.platform.retention import PLATFORM_RULES, PURGE_JOB, finished_jobs, purge
from shared.platform.service import SCHEDULED
from tests.shared.sample_services import Contact, SampleBase, SampleJob, SamplerService
from tests.support.jobs import until_finished
from tests.support.waiting import wait_for


def seeded(db_url):
    engine = make_engine(db_url)
    SampleBase.metadata.create_all(engine)
    SharedBase.metadata.create_all(engine)
    now = utcnow()
    with Session(engine) as session:
        for days_ago in (1, 29, 31, 45, 400):
            session.add(Contact(phone="13812345678", closed_at=now - timedelta(days=days_ago)))
        session.commit()
    return engine


@pytest.fixture
def sampler(container_factory, service_config, db_url, token_for):
    engine = seeded(db_url)
    config = service_config(db_url, RETENTION_DAYS={"closed_contact_phone": 30}, JOBS_POLL_SECONDS=0.1)
    container_factory(SamplerService, config).start()
    yield config, engine, token_for
    engine.dispose()


def phones(engine):
    with Session(engine) as session:
        return sorted((c.phone is not None) for c in session.scalars(select(Contact)))


def test_dry_run_reports_then_purge_erases_exactly_what_is_due(sampler):
    config, engine, token_for = sampler
    with ServiceRpcProxy("sampler", config, context_data={"authorization": token_for("ops", "admin")}) as rpc:
        report = rpc.purge_personal_data()
        assert report["closed_contact_phone"]["due"] == 3 and report["closed_contact_phone"]["days"] == 30
        assert phones(engine) == [True] * 5
        job = rpc.purge_personal_data(dry_run=False)
        assert (job["kind"], job["started_by"]) == ("retention_purge", "ops")
        assert until_finished(rpc, job)["result"]["closed_contact_phone"] == 3
        assert phones(engine) == [False, False, False, True, True]
        assert until_finished(rpc, rpc.purge_personal_data(dry_run=False))["result"]["closed_contact_phone"] == 0


def test_only_admin_may_purge(sampler):
    config, _, token_for = sampler
    with ServiceRpcProxy("sampler", config, context_data={"authorization": token_for("cw", "caseworker")}) as rpc:
        with pytest.raises(Forbidden):
            rpc.purge_personal_data(dry_run=False)


def test_every_service_reports_the_platform_rules_beside_its_own(sampler):
    config, _, token_for = sampler
    with ServiceRpcProxy("sampler", config, context_data={"authorization": token_for("ops", "admin")}) as rpc:
        report = rpc.purge_personal_data()
    assert {"published_outbox", "processed_events", "finished_jobs", "closed_contact_phone"} <= set(report)


def test_the_purge_is_a_job_erasing_a_batch_per_chunk(container_factory, service_config, db_url, token_for):
    """One chunk erases at most JOB_CHUNK_SIZE rows of one rule, so no purge holds a long transaction."""
    engine = seeded(db_url)
    days = {"closed_contact_phone": 30}
    config = service_config(db_url, RETENTION_DAYS=days, JOBS_POLL_SECONDS=0.1, JOB_CHUNK_SIZE=1)
    container_factory(SamplerService, config).start()
    with ServiceRpcProxy("sampler", config, context_data={"authorization": token_for("ops", "admin")}) as rpc:
        done = until_finished(rpc, rpc.purge_personal_data(dry_run=False))
    assert (done["status"], done["result"]["closed_contact_phone"], done["done"]) == ("completed", 3, 3)
    # three chunks of one phone each, one that finds nothing more due, and one empty chunk per other rule
    assert done["chunks"] == 3 + 1 + len(PLATFORM_RULES) + 1
    assert phones(engine) == [False, False, False, True, True]
    engine.dispose()


def test_the_hourly_purge_starts_the_same_job_an_admin_would(container_factory, service_config, db_url):
    engine = seeded(db_url)
    config = service_config(
        db_url, RETENTION_DAYS={"closed_contact_phone": 30}, JOBS_POLL_SECONDS=0.1, PURGE_INTERVAL_SECONDS=0.2
    )
    container_factory(SamplerService, config).start()

    def a_scheduled_purge_completed():
        with Session(engine) as session:
            jobs = session.scalars(select(SampleJob).where(SampleJob.status == "completed")).all()
            return [job for job in jobs if job.started_by == SCHEDULED and job.kind == PURGE_JOB]

    wait_for(a_scheduled_purge_completed, what="a purge started by the timer completed")
    assert phones(engine) == [False, False, False, True, True]
    engine.dispose()


def test_finished_jobs_are_bounded_and_an_active_one_is_never_due(db_url):
    engine = make_engine(db_url)
    SampleBase.metadata.create_all(engine)
    now = utcnow()
    with Session(engine) as session:
        for job_id, days, status in (("old", 91, "completed"), ("recent", 89, "failed"), ("stuck", 400, "running")):
            job = new_job(SampleJob, "sampler", PURGE_JOB, job_id, {}, "ops", now - timedelta(days=days), None)
            job.id, job.status = job_id, status
            job.finished_at = None if status == "running" else job.created_at
            session.add(job)
        session.commit()
    report = purge(sessionmaker(bind=engine), (finished_jobs(SampleJob),), {}, now, dry_run=False)
    assert report["finished_jobs"]["erased"] == 1
    with Session(engine) as session:
        assert sorted(session.scalars(select(SampleJob.id))) == ["recent", "stuck"]
    engine.dispose()
