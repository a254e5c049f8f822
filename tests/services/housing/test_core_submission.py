"""A submission is written with Core INSERTs; its audit record is the one the automatic audit writes."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import event, select

from services.housing.exceptions import DuplicateApplication
from services.housing.models import OpenCase, SubsidyApplication
from services.housing.schemas import SubsidyApplicationSchema
from shared.platform.audit import TRAIL_KEY, AuditedCase, AuditRecord, AuditTrail, record_status_changes
from shared.platform.auth import Caller
from shared.platform.models import OutboxMessage
from shared.platform.personal_data import DEV_KEYS
from shared.platform.personal_data_provider import PiiTools
from shared.platform.validation import load
from tests.services.housing.conftest import housing_desk, subsidy_application

CASEWORKER = Caller("cw-1", frozenset({"caseworker"}))
PII = PiiTools(DEV_KEYS)


@pytest.fixture
def audited(session):
    """The session as the Audit dependency hands it to a worker."""
    cases = {SubsidyApplication: AuditedCase("subsidy_application", ("review_note", "appeal_note", "end_reason"))}
    trail = AuditTrail(session, "cw-1", ("caseworker",), "call-1", cases)
    session.info[TRAIL_KEY] = trail
    event.listen(session, "before_flush", lambda flushing, _c, _i: record_status_changes(trail, cases, flushing))
    return session


def submit(session, **overrides) -> dict:
    data = load(SubsidyApplicationSchema(), subsidy_application(**overrides))
    return housing_desk(session).submit_subsidy_application(data, CASEWORKER)


def records(session, case_id: str) -> list[dict]:
    rows = session.scalars(select(AuditRecord).where(AuditRecord.case_id == case_id).order_by(AuditRecord.id))
    return [row.as_dict() for row in rows]


@pytest.mark.parametrize("eligible", [True, False])
def test_the_core_record_equals_the_one_the_orm_flush_writes(audited, eligible):
    outcome = submit(audited, **({} if eligible else {"owns_home_in_cixi": True}))
    [core] = records(audited, outcome["application_id"])
    stored = audited.get(SubsidyApplication, outcome["application_id"])
    given = {*core["changes"], "status", *(key for key in vars(stored) if key.endswith(("_encrypted", "_index")))} - {
        "id"
    }
    audited.add(SubsidyApplication(**{key: getattr(stored, key) for key in given}, id="twin"))  # the ORM path
    audited.commit()
    [orm] = records(audited, "twin")
    for record in (core, orm):
        record.pop("id"), record.pop("recorded_at"), record.pop("case_id"), record["changes"].pop("id")
        # read back from SQLite, the twin's time has lost its zone; the ORM path would have kept it
        record["changes"]["submitted_at"] = record["changes"]["submitted_at"][:26]
    assert core == orm
    assert core["to_state"] == ("submitted" if eligible else "ineligible")
    assert not any(key.endswith(("_encrypted", "_index")) for key in core["changes"])


def test_the_rows_and_events_commit_together(session):
    outcome = submit(session)
    application = session.get(SubsidyApplication, outcome["application_id"])
    assert session.get(OpenCase, application.resident_id).case_id == application.id
    bodies = [json.loads(row.body) for row in session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at))]
    assert [body["event_type"] for body in bodies] == ["contact_provided", "subsidy_application_submitted"]
    assert application.version == 1


def test_a_second_open_case_is_refused_naming_the_holder(session):
    person = subsidy_application()["id_number"]
    first = submit(session, id_number=person)["application_id"]
    with pytest.raises(DuplicateApplication, match=first):
        submit(session, id_number=person)
