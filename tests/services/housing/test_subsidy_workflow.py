"""The subsidy workflow on a real database without a container: term, re-certification, expiry, payments."""

from __future__ import annotations

import json
from datetime import date

import eventlet
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.housing import disbursement, subsidy
from services.housing.exceptions import DuplicateApplication, InvalidTransition, NoAmountRule
from services.housing.models import Disbursement, OpenCase, PolicyVersion, SubsidyApplication
from services.housing.rules import shift_period
from services.housing.schemas import SubsidyApplicationSchema, load
from shared.auth import Caller
from shared.contracts import load_all
from shared.db import make_engine
from shared.errors import ValidationError
from shared.migrations import upgrade
from shared.models import OutboxMessage
from shared.outbox import OutboxWriter
from shared.pii import DEV_KEYS
from shared.privacy import PiiTools
from tests.services.housing.conftest import subsidy_application

CASEWORKER = Caller("cw-1", frozenset({"caseworker"}))
REVIEWER = Caller("rv-1", frozenset({"reviewer"}))
PII = PiiTools(DEV_KEYS)


@pytest.fixture
def engine(db_url):
    load_all()
    upgrade("housing", db_url)
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    with Session(engine, expire_on_commit=False) as session:
        yield session


def outbox(session: Session) -> OutboxWriter:
    return OutboxWriter(session, "housing", None, [])


def approved(session: Session, **overrides) -> str:
    data = load(SubsidyApplicationSchema(), subsidy_application(**overrides))
    application_id = subsidy.submit(session, outbox(session), PII, CASEWORKER, data)["application_id"]
    subsidy.review(session, outbox(session), REVIEWER, application_id, "approve")
    return application_id


def events(session: Session, event_type: str) -> int:
    return session.scalar(select(func.count()).where(OutboxMessage.routing_key == event_type))


def test_approval_sets_a_twelve_month_term_from_the_policy(session):
    application = session.get(SubsidyApplication, approved(session))

    assert application.end_period == shift_period(application.start_period, 11)
    assert application.policy_id is not None and application.policy_ref.startswith("rent_subsidy#")


def test_recertify_still_eligible_recomputes_and_extends(session):
    application_id = approved(session)
    before = subsidy.get(session, CASEWORKER, application_id)
    after = subsidy.recertify(session, outbox(session), PII, CASEWORKER, application_id, {"household_size": 1})
    assert after["status"] == "approved"
    assert after["monthly_subsidy_fen"] == 1500 * 15 * 12 // 10  # one person now
    assert after["end_period"] > before["end_period"] and after["recertified_at"]


def test_recertify_no_longer_eligible_ends_with_reason(session):
    application_id = approved(session)
    ended = subsidy.recertify(session, outbox(session), PII, CASEWORKER, application_id, {"owns_home_in_cixi": True})
    assert ended["status"] == "ended" and ended["end_reason"] == "no_longer_eligible: owns_home_in_cixi"
    assert events(session, "subsidy_ended") == 1
    assert session.get(OpenCase, ended["resident_id"]) is None
    with pytest.raises(InvalidTransition):
        subsidy.recertify(session, outbox(session), PII, CASEWORKER, application_id, {})


def test_expiry_ends_subsidies_whose_term_is_over(session):
    current, lapsed = approved(session), approved(session)
    application = session.get(SubsidyApplication, lapsed)
    application.end_period = "2020-12"
    session.commit()
    assert subsidy.end_expired(session, outbox(session), session.get(SubsidyApplication, current).start_period) == 1
    assert subsidy.get(session, CASEWORKER, lapsed)["end_reason"] == "term_expired"
    assert subsidy.get(session, CASEWORKER, current)["status"] == "approved"
    assert subsidy.end_expired(session, outbox(session), "2021-01") == 0


def test_caseworker_ends_a_subsidy_and_the_resident_may_apply_again(session):
    application = subsidy_application()
    application_id = approved(session, id_number=application["id_number"])
    with pytest.raises(DuplicateApplication) as raised:
        subsidy.submit(session, outbox(session), PII, CASEWORKER, load(SubsidyApplicationSchema(), application))
    assert application_id in str(raised.value)
    subsidy.end_by_caseworker(session, outbox(session), CASEWORKER, application_id, "bought_home")
    again = subsidy.submit(session, outbox(session), PII, CASEWORKER, load(SubsidyApplicationSchema(), application))
    assert again["status"] == "submitted"


def test_disbursement_skips_ended_and_out_of_term(session):
    paid, ended, future = approved(session), approved(session), approved(session)
    subsidy.end_by_caseworker(session, outbox(session), CASEWORKER, ended, "left_cixi")
    period = session.get(SubsidyApplication, paid).start_period
    session.get(SubsidyApplication, future).start_period = "2999-01"
    session.commit()
    result = disbursement.run(session, outbox(session), period, batch_size=1)
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
    assert disbursement.run(session, outbox(session), period).paid == 2
    with Session(engine) as other:
        late = disbursement.DisbursementResult(period)
        assert disbursement._pay(other, outbox(other), period, rows, late) is False
    assert session.scalar(select(func.count()).select_from(Disbursement)) == 2
    assert events(session, "subsidy_disbursed") == 2


def test_concurrent_runs_pay_each_household_once(session, engine):
    for _ in range(12):
        approved(session)
    period = session.scalars(select(SubsidyApplication.start_period)).first()

    def run_once():
        with Session(engine, expire_on_commit=False) as own:
            return disbursement.run(own, outbox(own), period, batch_size=5)

    results = [thread.wait() for thread in [eventlet.spawn(run_once) for _ in range(3)]]
    assert sum(result.paid for result in results) == 12
    assert session.scalar(select(func.count()).select_from(Disbursement)) == 12
    assert events(session, "subsidy_disbursed") == 12


def test_appeal_puts_an_ineligible_case_back_for_review(session):
    application = subsidy_application(has_residence_permit=False)
    data = load(SubsidyApplicationSchema(), application)
    result = subsidy.submit(session, outbox(session), PII, CASEWORKER, data)
    assert result["status"] == "ineligible"
    with pytest.raises(InvalidTransition):
        subsidy.review(session, outbox(session), REVIEWER, result["application_id"], "approve")
    with pytest.raises(ValidationError):
        subsidy.appeal(session, CASEWORKER, result["application_id"], " ")
    appealed = subsidy.appeal(session, CASEWORKER, result["application_id"], "居住证已办理, 见附件")
    assert appealed["status"] == "appealed" and appealed["appealed_by"] == "cw-1"
    with pytest.raises(DuplicateApplication):  # the appeal holds the resident's open-case slot
        subsidy.submit(session, outbox(session), PII, CASEWORKER, data)
    with pytest.raises(InvalidTransition):
        subsidy.appeal(session, CASEWORKER, result["application_id"], "again")
    approved_case = subsidy.review(session, outbox(session), REVIEWER, result["application_id"], "approve")
    assert approved_case["status"] == "approved" and approved_case["monthly_subsidy_fen"] == 63000


def test_appeal_granted_outside_the_amount_table_is_refused(session):
    base = session.scalars(
        select(PolicyVersion).where(PolicyVersion.programme == "rent_subsidy").order_by(PolicyVersion.id.desc())
    ).first()
    narrower = json.loads(base.rules)  # a later row that drops frontline workers altogether
    narrower["eligible_categories"].remove("frontline_worker")
    del narrower["tier_coefficient_permille"]["frontline_worker"]
    session.add(
        PolicyVersion(
            programme="rent_subsidy", effective_from=date(2025, 1, 1), policy_ref="test", rules=json.dumps(narrower)
        )
    )
    session.commit()
    data = load(SubsidyApplicationSchema(), subsidy_application(category="frontline_worker"))
    result = subsidy.submit(session, outbox(session), PII, CASEWORKER, data)
    assert result["reasons"] == ["category_not_covered"]
    subsidy.appeal(session, CASEWORKER, result["application_id"], "一线人员")
    with pytest.raises(NoAmountRule):
        subsidy.review(session, outbox(session), REVIEWER, result["application_id"], "approve")
    assert subsidy.get(session, CASEWORKER, result["application_id"])["status"] == "appealed"
