"""The purge erases exactly what its rules say is due, in batches, and a second run finds nothing."""

from datetime import timedelta

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.platform.db import make_engine
from shared.platform.errors import Forbidden
from shared.platform.models import SharedBase, utcnow
from tests.shared.sample_services import Contact, SampleBase, SamplerService


@pytest.fixture
def sampler(container_factory, service_config, db_url, token_for):
    engine = make_engine(db_url)
    SampleBase.metadata.create_all(engine)
    SharedBase.metadata.create_all(engine)
    now = utcnow()
    with Session(engine) as session:
        for days_ago in (1, 29, 31, 45, 400):
            session.add(Contact(phone="13812345678", closed_at=now - timedelta(days=days_ago)))
        session.commit()
    config = service_config(db_url, RETENTION_DAYS={"closed_contact_phone": 30})
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
        assert rpc.purge_personal_data(dry_run=False)["closed_contact_phone"]["erased"] == 3
        assert phones(engine) == [False, False, False, True, True]
        assert rpc.purge_personal_data(dry_run=False)["closed_contact_phone"]["erased"] == 0


def test_only_admin_may_purge(sampler):
    config, _, token_for = sampler
    with ServiceRpcProxy("sampler", config, context_data={"authorization": token_for("cw", "caseworker")}) as rpc:
        with pytest.raises(Forbidden):
            rpc.purge_personal_data(dry_run=False)


def test_every_service_reports_the_platform_rules_beside_its_own(sampler):
    config, _, token_for = sampler
    with ServiceRpcProxy("sampler", config, context_data={"authorization": token_for("ops", "admin")}) as rpc:
        report = rpc.purge_personal_data()
    assert {"published_outbox", "processed_events", "closed_contact_phone"} <= set(report)
