"""The subsidy workflow on a real database without a container: term, re-certification, expiry, payments."""

from __future__ import annotations

import json
from datetime import date

import eventlet
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.housing import disbursement, expiry, recertification, subsidy
from services.housing.exceptions import DuplicateApplication, InvalidTransition, MakerCheckerViolation
from services.housing.models import Disbursement, OpenCase, SubsidyApplication
from services.housing.rules import shift_period
from services.housing.schemas import SubsidyApplicationSchema
from shared.platform.auth import Caller
from shared.platform.clock import process_clock, utcnow
from shared.platform.contracts import validate_envelope
from shared.platform.errors import ValidationError
from shared.platform.models import OutboxMessage
from shared.platform.outbox import OutboxWriter
from shared.platform.personal_data import DEV_KEYS
from shared.platform.personal_data_provider import PiiTools
from shared.platform.validation import load
from tests.services.housing.conftest import housing_desk, subsidy_application
from tests.support.jobs import run_inline

CASEWORKER = Caller("cw-1", frozenset({"caseworker"}))
REVIEWER = Caller("rv-1", frozenset({"reviewer"}))
PII = PiiTools(DEV_KEYS)


def outbox(session: Session) -> OutboxWriter:
    return OutboxWriter(session, "housing", None, [])


def desk(session: Session):
    return housing_desk(session)


def approved(session: Session, **overrides) -> str:
    data = load(SubsidyApplicationSchema(), subsidy_application(**overrides))
    application_id = desk(session).submit_subsidy_application(data, CASEWORKER)["application_id"]
    desk(session).review_subsidy_application(application_id, "approve", None, False, REVIEWER)
    return application_id


def events(session: Session, event_type: str) -> int:
    return session.scalar(select(func.count()).where(OutboxMessage.routing_key == event_type))


def sent(session: Session, event_type: str) -> list[dict]:
    """The data of each `event_type` event in the outbox, as its consumers load it."""
    bodies = session.scalars(select(OutboxMessage.body).where(OutboxMessage.routing_key == event_type)).all()
    return [validate_envelope(json.loads(body))[1] for body in bodies]


def test_approval_sets_a_twelve_month_term_from_the_policy(session):
    application = session.get(SubsidyApplication, approved(session))

    assert application.end_period == shift_period(application.start_period, 11)
    assert application.policy_id is not None and application.policy_ref.startswith("rent_subsidy#")


def test_recertify_lowering_the_amount_mid_term_applies_at_once_and_is_published(session):
    application_id = approved(session)
    before = subsidy.get(session, CASEWORKER, application_id)
    result = desk(session).recertify_subsidy(application_id, {"household_size": 1}, CASEWORKER)
    after = result["application"]
    assert result["recertification"]["status"] == "applied"
    assert after["monthly_subsidy_fen"] == 1500 * 15 * 12 // 10  # one person now
    assert after["end_period"] == before["end_period"] and after["recertified_at"]  # mid-term: not renewed
    [told] = sent(session, "subsidy_recertified")
    assert (told["monthly_subsidy_fen"], told["reviewed"]) == (after["monthly_subsidy_fen"], False)


@pytest.mark.parametrize(
    ("end_period", "today", "renewed"),
    [
        ("2026-12", "2026-12-15", "2027-12"),  # the last month: one term after it
        ("2026-12", "2026-10-01", "2027-12"),  # within the window
        ("2026-12", "2026-09-30", "2026-12"),  # too early: the term runs on unchanged
        ("2027-12", "2026-12-15", "2027-12"),  # renewed already: a repeat renews nothing
        ("2026-06", "2026-09-01", "2027-08"),  # lapsed but not yet ended: a term from this month
    ],
)
def test_a_term_is_renewed_only_when_due_and_only_once(end_period, today, renewed):
    assert recertification.renewed_end(end_period, date.fromisoformat(today), 12) == renewed


def test_recertify_no_longer_eligible_ends_with_reason(session):
    application_id = approved(session)
    change = {"owns_home_in_cixi": True}
    ended = desk(session).recertify_subsidy(application_id, change, CASEWORKER)["application"]
    assert (ended["status"], ended["end_reason"], ended["reasons"]) == (
        "ended",
        "no_longer_eligible",
        ["owns_home_in_cixi"],
    )
    [told] = sent(session, "subsidy_ended")
    assert (told["reason"], told["eligibility_reasons"]) == ("no_longer_eligible", ["owns_home_in_cixi"])
    assert session.get(OpenCase, ended["resident_id"]) is None
    with pytest.raises(InvalidTransition):
        desk(session).recertify_subsidy(application_id, {}, CASEWORKER)


def test_expiry_ends_subsidies_whose_term_is_over(session):
    current, lapsed = approved(session), approved(session)
    application = session.get(SubsidyApplication, lapsed)
    application.end_period = "2020-12"
    session.commit()

    def sweep(as_of_period: str) -> dict:
        _, params = expiry.subsidies_params(as_of_period)
        return run_inline(expiry.KINDS[expiry.SUBSIDIES], session, outbox(session), utcnow(), params)

    assert sweep(session.get(SubsidyApplication, current).start_period) == {"ended": 1}
    assert subsidy.get(session, CASEWORKER, lapsed)["end_reason"] == "term_expired"
    assert subsidy.get(session, CASEWORKER, current)["status"] == "approved"
    assert sweep("2021-01") == {"ended": 0}


def test_caseworker_ends_a_subsidy_and_the_resident_may_apply_again(session):
    application = subsidy_application()
    application_id = approved(session, id_number=application["id_number"])
    with pytest.raises(DuplicateApplication) as raised:
        desk(session).submit_subsidy_application(load(SubsidyApplicationSchema(), application), CASEWORKER)
    assert application_id in str(raised.value)
    desk(session).end_subsidy(application_id, "bought_home", CASEWORKER)
    again = desk(session).submit_subsidy_application(load(SubsidyApplicationSchema(), application), CASEWORKER)
    assert again["status"] == "submitted"


def test_a_caseworker_ends_a_subsidy_only_for_a_reason_the_resident_can_be_told(session):
    application_id = approved(session)
    with pytest.raises(ValidationError) as caught:
        desk(session).end_subsidy(application_id, "moved away", CASEWORKER)
    assert set(caught.value.errors) == {"reason"}
    with pytest.raises(ValidationError):  # the platform's own reason, not a caseworker's
        desk(session).end_subsidy(application_id, "term_expired", CASEWORKER)


@pytest.mark.parametrize(("marked", "told"), [(False, None), (True, "请补交租赁合同，联系138****5678")])
def test_a_reviewers_note_reaches_the_resident_only_when_marked(session, marked, told):
    data = load(SubsidyApplicationSchema(), subsidy_application())
    application_id = desk(session).submit_subsidy_application(data, CASEWORKER)["application_id"]
    note = "请补交租赁合同，联系13812345678"
    desk(session).review_subsidy_application(application_id, "reject", note, marked, REVIEWER)
    [rejected] = sent(session, "subsidy_rejected")
    assert (rejected["reasons"], rejected["note_for_resident"]) == (["rejected_on_review"], told)
    assert session.get(SubsidyApplication, application_id).review_note == note  # the file keeps it as written


def test_disbursement_skips_ended_and_out_of_term(session):
    paid, ended, future = approved(session), approved(session), approved(session)
    desk(session).end_subsidy(ended, "left_cixi", CASEWORKER)
    period = session.get(SubsidyApplication, paid).start_period
    session.get(SubsidyApplication, future).start_period = "2999-01"
    session.commit()
    result = disbursement.run(session, outbox(session), process_clock(), period, batch_size=1)
    assert (result.paid, result.total_fen, result.batches) == (1, 63000, 1)


def test_a_page_paid_by_a_concurrent_run_is_refused_whole(session, engine):
    approved(session), approved(session)
    period = session.scalars(select(SubsidyApplication.start_period)).first()
    rows = session.execute(
        select(
            SubsidyApplication.id,
            SubsidyApplication.resident_id,
            SubsidyApplication.town,
            SubsidyApplication.category,
            SubsidyApplication.monthly_subsidy_fen,
            SubsidyApplication.policy_id,
        )
    ).all()
    session.rollback()
    assert disbursement.run(session, outbox(session), process_clock(), period).paid == 2
    with Session(engine) as other:
        late = disbursement.DisbursementResult(period)
        assert disbursement._pay(other, outbox(other), period, rows, late, utcnow()) is False
    assert session.scalar(select(func.count()).select_from(Disbursement)) == 2
    assert events(session, "subsidy_disbursed") == 2


def test_concurrent_runs_pay_each_household_once(session, engine):
    for _ in range(12):
        approved(session)
    period = session.scalars(select(SubsidyApplication.start_period)).first()

    def run_once():
        with Session(engine, expire_on_commit=False) as own:
            return disbursement.run(own, outbox(own), process_clock(), period, batch_size=5)

    results = [thread.wait() for thread in [eventlet.spawn(run_once) for _ in range(3)]]
    assert sum(result.paid for result in results) == 12
    assert session.scalar(select(func.count()).select_from(Disbursement)) == 12
    assert events(session, "subsidy_disbursed") == 12


def test_a_legacy_appealed_case_is_still_reviewed_by_someone_else(session):
    """Cases appealed before the appeal mechanism (status `appealed`) wait for an ordinary review."""
    data = load(SubsidyApplicationSchema(), subsidy_application(has_residence_permit=False))
    result = desk(session).submit_subsidy_application(data, CASEWORKER)
    with pytest.raises(InvalidTransition):  # an ineligible case is reversed only by an upheld appeal
        desk(session).review_subsidy_application(result["application_id"], "approve", None, False, REVIEWER)
    application = session.get(SubsidyApplication, result["application_id"])
    application.status, application.appealed_by, application.appeal_note = "appealed", "cw-2", "居住证已办理"
    session.commit()
    with pytest.raises(MakerCheckerViolation):
        desk(session).review_subsidy_application(
            application.id, "approve", None, False, Caller("cw-2", frozenset({"reviewer"}))
        )
    approved_case = desk(session).review_subsidy_application(result["application_id"], "approve", None, False, REVIEWER)
    assert approved_case["status"] == "approved" and approved_case["monthly_subsidy_fen"] == 63000
