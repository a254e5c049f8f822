"""Appeals against rejected enrolments on a real database with a frozen clock: the window edges, the
reviewer rule, reinstatement through the normal activation exactly once; and the enrolment's audit
record committing (or rolling back) with its change."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from services.insurance.appeals import EnrolmentAppeals
from services.insurance.exceptions import DuplicateEnrolment
from services.insurance.models import Appeal, Enrolment
from services.insurance.workflow import Desk
from shared.cixi.appeals import Appeals, AppealSettings, AppealWindowClosed
from shared.platform.audit import AuditedCase, AuditRecord, AuditTrail, record_status_changes
from shared.platform.auth import Caller
from shared.platform.contracts import validate_envelope
from shared.platform.errors import MakerCheckerViolation, NotFound

from .conftest import CASEWORKER, REVIEWER, resident_caller
from .test_workflow import WORKER, pension, registration

APPEAL_REVIEWER = Caller("rv-zhou", frozenset({"reviewer"}))
DECIDED = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Cixi on 2 March 2026


def desk_at(counter, now: datetime) -> Desk:
    return Desk(counter.worker(None), now=now)


def appeals_at(counter, now: datetime, **settings) -> Appeals:
    desk = desk_at(counter, now)
    return Appeals(desk.db, desk.outbox, Appeal, EnrolmentAppeals(desk), AppealSettings(**settings), now)


@pytest.fixture
def rejected(counter) -> str:
    desk_at(counter, DECIDED).register_employment(registration(), CASEWORKER)
    enrolment = desk_at(counter, DECIDED).enrol_pension(pension(), CASEWORKER)["enrolment_id"]
    desk_at(counter, DECIDED).decide(
        "reject", {"enrolment_id": enrolment, "reason": "documents_incomplete", "note": "材料不全"}, REVIEWER
    )
    return enrolment


def lodge(counter, enrolment: str, now: datetime = DECIDED, caller: Caller = CASEWORKER) -> dict:
    return appeals_at(counter, now).lodge(caller, "enrolment", enrolment, "已补交灵活就业登记材料")


@pytest.mark.parametrize(("days", "in_time"), [(60, True), (61, False)])
def test_the_window_is_sixty_days_from_the_rejection(counter, rejected, days, in_time):
    lodged = datetime(2026, 3, 2, 15, 59, tzinfo=UTC) + timedelta(days=days)  # 23:59 in Cixi
    if in_time:
        appeal = lodge(counter, rejected, lodged)
        assert (appeal["refused_by"], appeal["due_on"]) == ("rv-wang", "2026-05-31")
    else:
        with pytest.raises(AppealWindowClosed):
            lodge(counter, rejected, lodged)


def test_upheld_reinstates_through_the_normal_activation_once(counter, rejected):
    appeal_id = lodge(counter, rejected)["appeal_id"]
    for conflicted in (REVIEWER, Caller(CASEWORKER.subject, frozenset({"reviewer"}))):  # decider, submitter
        with pytest.raises(MakerCheckerViolation):
            appeals_at(counter, DECIDED).start_review(conflicted, appeal_id)
    later = DECIDED + timedelta(days=20)
    appeals_at(counter, later).start_review(APPEAL_REVIEWER, appeal_id)
    for _ in range(2):  # the second call is a retried one
        decided = appeals_at(counter, later).decide(APPEAL_REVIEWER, appeal_id, "upheld", ["登记材料齐全"])
    assert decided["status"] == "upheld"
    [activated] = counter.events("enrolment_activated")
    data = validate_envelope(activated)[1]
    assert (data["enrolment_id"], data["coverage_start"]) == (rejected, date(2026, 3, 22))
    assert len(counter.events("appeal_upheld")) == 1
    enrolment = desk_at(counter, later).get_enrolment(rejected, REVIEWER)
    assert (enrolment["status"], enrolment["decided_by"]) == ("active", "rv-zhou")


def test_dismissed_keeps_the_rejection_and_is_announced_once(counter, rejected):
    appeal_id = lodge(counter, rejected)["appeal_id"]
    appeals_at(counter, DECIDED).start_review(APPEAL_REVIEWER, appeal_id)
    for _ in range(2):
        appeals_at(counter, DECIDED).decide(APPEAL_REVIEWER, appeal_id, "dismissed", ["未按时登记"])
    assert len(counter.events("appeal_dismissed")) == 1 and counter.events("enrolment_activated") == []
    assert desk_at(counter, DECIDED).get_enrolment(rejected, REVIEWER)["status"] == "rejected"


def test_the_insured_resident_lodges_their_own_appeal_only(counter, rejected):
    own = resident_caller(counter.pii, WORKER)
    stranger = Caller("someone-else", frozenset({"resident"}))
    with pytest.raises(NotFound):
        lodge(counter, rejected, caller=stranger)
    appeal = lodge(counter, rejected, caller=own)
    assert appeal["lodged_by"] == own.subject
    assert appeals_at(counter, DECIDED).list(own)["total"] == 1
    assert appeals_at(counter, DECIDED).list(stranger)["total"] == 0


def test_no_reinstatement_beside_a_newer_live_enrolment(counter, rejected):
    appeal_id = lodge(counter, rejected)["appeal_id"]
    appeals_at(counter, DECIDED).start_review(APPEAL_REVIEWER, appeal_id)
    desk_at(counter, DECIDED).enrol_pension(pension(), CASEWORKER)  # enrolled again meanwhile
    with pytest.raises(DuplicateEnrolment):
        appeals_at(counter, DECIDED).decide(APPEAL_REVIEWER, appeal_id, "upheld", ["x"])
    assert appeals_at(counter, DECIDED).get(REVIEWER, appeal_id)["status"] == "under_review"


def test_the_audit_record_commits_and_rolls_back_with_the_change(counter, rejected):
    desk = desk_at(counter, DECIDED)
    trail = AuditTrail(desk.db, "rv-zhou", ("reviewer",), "corr-1")
    cases = {Enrolment: AuditedCase("enrolment", ("reason",))}
    event.listen(desk.db, "before_flush", lambda flushing, _c, _i: record_status_changes(trail, cases, flushing))
    enrolment = desk.locked(rejected)
    desk.move(enrolment, "reinstate", "appeal upheld", APPEAL_REVIEWER)
    desk.db.flush()
    count = select(func.count()).select_from(AuditRecord).where(AuditRecord.case_id == rejected)
    assert desk.db.scalar(count) == 1  # (the test counter records nothing else: it has no trail)
    desk.db.rollback()  # a failure after the change
    assert desk.db.scalar(count) == 0 and desk.db.get(Enrolment, rejected).status == "rejected"
    desk.move(desk.locked(rejected), "reinstate", "appeal upheld", APPEAL_REVIEWER)
    desk.db.commit()
    [record] = desk.db.scalars(select(AuditRecord).where(AuditRecord.case_id == rejected)).all()
    assert (record.from_state, record.to_state, record.actor, record.reason) == (
        "rejected",
        "active",
        "rv-zhou",
        "appeal upheld",
    )
