"""The last-unit race made deterministic on PostgreSQL: B's claim waits on A's row lock, then finds nothing.

(SQLite serialises writers with a database lock instead; the RPC test in test_tenancy_service.py races
two real allocations there and on PostgreSQL.)
"""

from __future__ import annotations

import eventlet
import pytest
from sqlalchemy.orm import Session

from services.housing import tenancy
from services.housing.exceptions import NoVacantUnit
from services.housing.models import Project, Tenancy, TenancyApplication, Unit
from services.housing.schemas import ProjectSchema, TenancyApplicationSchema, UnitSchema
from shared.platform.auth import Caller
from shared.platform.contracts import load_all
from shared.platform.db import make_engine
from shared.platform.validation import load
from tests.services.housing.conftest import housing_desk, project, tenancy_application, unit
from tests.support.databases import migrate
from tests.support.waiting import lock_waiters, wait_for

CASEWORKER = Caller("cw-1", frozenset({"caseworker"}))
REVIEWER = Caller("rv-1", frozenset({"reviewer"}))


@pytest.mark.postgres
def test_second_claim_waits_for_the_first_and_gets_no_vacant_unit(postgres_url):
    load_all()
    migrate("housing", postgres_url)
    engine = make_engine(postgres_url)
    with Session(engine, expire_on_commit=False) as setup:
        desk = housing_desk(setup)
        project_id = desk.create_project(load(ProjectSchema(), project()))["project_id"]
        desk.list_unit(project_id, load(UnitSchema(), unit("101")))
        applications = [
            desk.submit_tenancy_application(load(TenancyApplicationSchema(), tenancy_application()), CASEWORKER)[
                "application_id"
            ]
            for _ in range(2)
        ]
    first, second = Session(engine, expire_on_commit=False), Session(engine, expire_on_commit=False)
    try:
        claimed = tenancy._claim_unit(first, first.get(Project, project_id), None)  # holds the row lock
        waiting = eventlet.spawn(housing_desk(second).allocate_unit, applications[1], project_id, None, None, REVIEWER)
        wait_for(lambda: lock_waiters(postgres_url) == 1, what="the second claim waiting on the row lock")
        assert not waiting.dead
        first.commit()
        with pytest.raises(NoVacantUnit):
            waiting.wait()
        assert first.get(Unit, claimed.id).status == "let"
    finally:
        first.close()
        second.close()
    with Session(engine) as check:
        assert check.query(Tenancy).count() == 0  # the loser wrote nothing
        assert check.get(TenancyApplication, applications[1]).status == "submitted"
    engine.dispose()
