"""Appeals against refused rent-subsidy applications, on a real database with a frozen clock:
the window and due-date edges, the reviewer rule, and the normal approval effects exactly once."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.housing.appeals import SubsidyAppeals
from services.housing.exceptions import DuplicateApplication, NoAmountRule
from services.housing.models import Appeal, OpenCase, PolicyVersion, SubsidyApplication
from services.housing.schemas import SubsidyApplicationSchema
from shared.cixi.appeals import (
    AppealExists,
    Appeals,
    AppealSettings,
    AppealWindowClosed,
    InvalidTransition,
    MakerCheckerViolation,
    NotAppealable,
)
from shared.platform.auth import Caller
from shared.platform.contracts import load_all
from shared.platform.db import make_engine
from shared.platform.errors import NotFound, ValidationError
from shared.platform.models import OutboxMessage
from shared.platform.personal_data import DEV_KEYS
from shared.platform.personal_data_provider import PiiTools
from shared.platform.validation import load
from tests.services.housing.conftest import housing_desk, subsidy_application
from tests.support.databases import migrate

CASEWORKER = Caller("cw-1", frozenset({"caseworker"}))
REVIEWER = Caller("rv-1", frozenset({"reviewer"}))
APPEAL_REVIEWER = Caller("rv-2", frozenset({"reviewer"}))
PII = PiiTools(DEV_KEYS)
DECIDED = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Cixi on 10 March 2025


def cixi(day: date, hour: int, minute: int = 0) -> datetime:
    """A Cixi wall-clock time (UTC+8, no daylight saving) as aware UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


@pytest.fixture
def session(db_url):
    load_all()
    migrate("housing", db_url)
    engine = make_engine(db_url)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


def desk(session: Session, now: datetime, **settings) -> Appeals:
    housing = housing_desk(session, now)
    return Appeals(session, housing.outbox, Appeal, SubsidyAppeals(housing), AppealSettings(**settings), now)


def events(session: Session, event_type: str) -> list[dict]:
    rows = session.scalars(select(OutboxMessage.body).where(OutboxMessage.routing_key == event_type)).all()
    return [json.loads(body)["data"] for body in rows]


def refused(session: Session, decided_at: datetime = DECIDED, ineligible: bool = False, **overrides) -> str:
    """An application rejected by rv-1 at `decided_at`, or found ineligible on submission then."""
    if ineligible:
        overrides.setdefault("has_residence_permit", False)
    data = load(SubsidyApplicationSchema(), subsidy_application(**overrides))
    housing = housing_desk(session, decided_at)
    case = housing.submit_subsidy_application(data, CASEWORKER)["application_id"]
    if not ineligible:
        housing.review_subsidy_application(case, "reject", "材料不全", False, REVIEWER)
    return case


def under_review(session: Session, case: str, now: datetime = DECIDED) -> str:
    appeal = desk(session, now).lodge(CASEWORKER, "subsidy_application", case, "材料已补齐，见附件")
    desk(session, now).start_review(APPEAL_REVIEWER, appeal["appeal_id"])
    return appeal["appeal_id"]


@pytest.mark.parametrize(
    ("decided", "lodged", "in_time"),
    [
        (cixi(date(2025, 3, 10), 10), cixi(date(2025, 5, 9), 23, 59), True),  # day 60
        (cixi(date(2025, 3, 10), 10), cixi(date(2025, 5, 10), 0, 0), False),  # day 61
        (cixi(date(2025, 3, 10), 23, 30), cixi(date(2025, 5, 9), 8), True),  # late-evening decision, Cixi days
        (cixi(date(2025, 3, 10), 0, 30), cixi(date(2025, 5, 10), 0, 1), False),
    ],
)
def test_the_window_counts_cixi_calendar_days_from_the_decision(session, decided, lodged, in_time):
    case = refused(session, decided_at=decided)
    if in_time:
        assert desk(session, lodged).lodge(CASEWORKER, "subsidy_application", case, "理由")["status"] == "received"
        assert len(events(session, "appeal_received")) == 1
    else:
        with pytest.raises(AppealWindowClosed):
            desk(session, lodged).lodge(CASEWORKER, "subsidy_application", case, "理由")
        assert session.scalar(select(func.count()).select_from(Appeal)) == 0


def test_the_window_is_configurable_and_runs_from_submission_for_an_ineligible_case(session):
    case = refused(session, ineligible=True)
    with pytest.raises(AppealWindowClosed):
        desk(session, DECIDED + timedelta(days=11), window_days=10).lodge(CASEWORKER, "subsidy_application", case, "x")
    assert (
        desk(session, DECIDED + timedelta(days=10), window_days=10).lodge(CASEWORKER, "subsidy_application", case, "x")[
            "refusal"
        ]
        == "ineligible"
    )


def test_due_date_and_overdue_flag_follow_the_clock(session):
    received = cixi(date(2025, 3, 12), 16)
    appeal = desk(session, received).lodge(CASEWORKER, "subsidy_application", refused(session), "理由")
    assert appeal["due_on"] == "2025-04-11" and appeal["overdue"] is False
    assert events(session, "appeal_received")[0]["due_on"] == "2025-04-11"
    last_day, day_after = cixi(date(2025, 4, 11), 23, 59), cixi(date(2025, 4, 12), 0, 0)
    assert desk(session, last_day).get(REVIEWER, appeal["appeal_id"])["overdue"] is False
    assert desk(session, day_after).get(REVIEWER, appeal["appeal_id"])["overdue"] is True
    assert desk(session, day_after).list(REVIEWER, overdue=True)["total"] == 1
    assert desk(session, last_day).list(REVIEWER, overdue=True)["total"] == 0
    desk(session, day_after).start_review(APPEAL_REVIEWER, appeal["appeal_id"])
    decided = desk(session, day_after).decide(APPEAL_REVIEWER, appeal["appeal_id"], "dismissed", ["理由不成立"])
    assert decided["overdue"] is False  # decided: no longer waiting, however late


def test_due_days_are_configurable(session):
    appeal = desk(session, DECIDED, due_days=15).lodge(CASEWORKER, "subsidy_application", refused(session), "x")
    assert appeal["due_on"] == "2025-03-25"


@pytest.mark.parametrize("who", ["rv-1", "cw-1"])  # the rejecting reviewer; whoever submitted and lodged
def test_the_reviewer_is_not_the_original_decider_nor_the_appellant(session, who):
    case = refused(session)
    appeal = desk(session, DECIDED).lodge(CASEWORKER, "subsidy_application", case, "理由")
    conflicted = Caller(who, frozenset({"reviewer"}))
    with pytest.raises(MakerCheckerViolation):
        desk(session, DECIDED).start_review(conflicted, appeal["appeal_id"])
    desk(session, DECIDED).start_review(APPEAL_REVIEWER, appeal["appeal_id"])
    with pytest.raises(MakerCheckerViolation):
        desk(session, DECIDED).decide(conflicted, appeal["appeal_id"], "upheld", ["x"])
    assert events(session, "subsidy_approved") == []


def test_upheld_approves_through_the_normal_path_exactly_once(session):
    case = refused(session)
    appeal_id = under_review(session, case)
    first = desk(session, DECIDED).decide(APPEAL_REVIEWER, appeal_id, "upheld", ["材料齐全，符合条件"])
    again = desk(session, DECIDED).decide(APPEAL_REVIEWER, appeal_id, "upheld", ["材料齐全，符合条件"])  # retried
    assert first == again and first["status"] == "upheld"
    application = session.get(SubsidyApplication, case)
    assert application.status == "approved" and application.reviewed_by == "rv-2"
    assert application.monthly_subsidy_fen > 0 and application.policy_ref
    assert session.get(OpenCase, application.resident_id).case_id == case
    approved = events(session, "subsidy_approved")
    assert len(approved) == 1 and approved[0]["application_id"] == case
    upheld = events(session, "appeal_upheld")
    assert len(upheld) == 1 and upheld[0]["reasons"] == ["材料齐全，符合条件"]
    with pytest.raises(InvalidTransition):
        desk(session, DECIDED).decide(APPEAL_REVIEWER, appeal_id, "dismissed", ["改判"])
    with pytest.raises(NotAppealable):  # approved now: nothing left to appeal
        desk(session, DECIDED).lodge(CASEWORKER, "subsidy_application", case, "again")


def test_dismissed_keeps_the_refusal_and_is_final(session):
    case = refused(session)
    appeal_id = under_review(session, case)
    for _ in range(2):  # the second call is a retry
        desk(session, DECIDED).decide(APPEAL_REVIEWER, appeal_id, "dismissed", ["仍有住房，电话13812345678核实"])
    assert session.get(SubsidyApplication, case).status == "rejected"
    dismissed = events(session, "appeal_dismissed")
    assert len(dismissed) == 1 and dismissed[0]["reasons"] == ["仍有住房，电话138****5678核实"]
    assert events(session, "subsidy_approved") == []
    with pytest.raises(AppealExists):
        desk(session, DECIDED).lodge(CASEWORKER, "subsidy_application", case, "再次申请")


def test_one_open_appeal_per_case_and_only_refusals(session):
    case = refused(session)
    desk(session, DECIDED).lodge(CASEWORKER, "subsidy_application", case, "理由")
    with pytest.raises(AppealExists):
        desk(session, DECIDED).lodge(CASEWORKER, "subsidy_application", case, "理由")
    data = load(SubsidyApplicationSchema(), subsidy_application())
    pending = housing_desk(session).submit_subsidy_application(data, CASEWORKER)["application_id"]
    with pytest.raises(NotAppealable):
        desk(session, DECIDED).lodge(CASEWORKER, "subsidy_application", pending, "理由")
    with pytest.raises(NotFound):
        desk(session, DECIDED).lodge(CASEWORKER, "subsidy_application", "no-such-case", "理由")


def test_a_resident_lodges_only_for_their_own_case(session):
    data = load(SubsidyApplicationSchema(), subsidy_application(has_residence_permit=False))
    alice = Caller(PII.resident_id(data["id_number"]), frozenset({"resident"}))
    bob = Caller("r_bob", frozenset({"resident"}))
    case = housing_desk(session, DECIDED).submit_subsidy_application(data, alice)
    with pytest.raises(NotFound):
        desk(session, DECIDED).lodge(bob, "subsidy_application", case["application_id"], "理由")
    appeal = desk(session, DECIDED).lodge(alice, "subsidy_application", case["application_id"], "理由")
    assert desk(session, DECIDED).get(alice, appeal["appeal_id"])["lodged_by"] == alice.subject
    with pytest.raises(NotFound):
        desk(session, DECIDED).get(bob, appeal["appeal_id"])
    assert desk(session, DECIDED).list(alice)["total"] == 1 and desk(session, DECIDED).list(bob)["total"] == 0


def test_upheld_for_an_ineligible_case_claims_the_open_case_slot(session):
    case = refused(session, ineligible=True, id_number=(person := subsidy_application()["id_number"]))
    appeal_id = under_review(session, case)
    data = load(SubsidyApplicationSchema(), subsidy_application(id_number=person))
    housing_desk(session).submit_subsidy_application(data, CASEWORKER)  # holds the slot
    with pytest.raises(DuplicateApplication):
        desk(session, DECIDED).decide(APPEAL_REVIEWER, appeal_id, "upheld", ["符合条件"])
    assert desk(session, DECIDED).get(REVIEWER, appeal_id)["status"] == "under_review"
    assert events(session, "appeal_upheld") == []


def test_upheld_outside_the_amount_table_is_refused_and_may_be_dismissed(session):
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
    case = refused(session, ineligible=True, category="frontline_worker", has_residence_permit=True)
    appeal_id = under_review(session, case)
    with pytest.raises(NoAmountRule):
        desk(session, DECIDED).decide(APPEAL_REVIEWER, appeal_id, "upheld", ["一线人员"])
    assert session.get(SubsidyApplication, case).status == "ineligible"
    assert desk(session, DECIDED).decide(APPEAL_REVIEWER, appeal_id, "dismissed", ["政策无此类别"])["status"] == (
        "dismissed"
    )


@pytest.mark.parametrize(
    ("args", "fields"),
    [
        (("tenancy", "x", "理由"), {"case_type"}),
        (("subsidy_application", 7, "理由"), {"case_id"}),
        (("subsidy_application", "x" * 65, "理由"), {"case_id"}),
        (("subsidy_application", "x", "  "), {"statement"}),
        (("subsidy_application", "x", None), {"statement"}),
        (("subsidy_application", "x", "长" * 2001), {"statement"}),
        ((None, None, None), {"case_type", "case_id", "statement"}),
    ],
)
def test_bad_lodgings_list_every_bad_field(session, args, fields):
    with pytest.raises(ValidationError) as raised:
        desk(session, DECIDED).lodge(CASEWORKER, *args)
    assert set(raised.value.errors) == fields


@pytest.mark.parametrize(
    ("outcome", "reasons", "fields"),
    [
        ("approved", ["x"], {"outcome"}),
        ("upheld", [], {"reasons"}),
        ("upheld", "not a list", {"reasons"}),
        ("upheld", [" "], {"reasons"}),
        ("dismissed", ["x"] * 11, {"reasons"}),
        ("dismissed", ["长" * 501], {"reasons"}),
        (None, None, {"outcome", "reasons"}),
    ],
)
def test_bad_decisions_list_every_bad_field(session, outcome, reasons, fields):
    with pytest.raises(ValidationError) as raised:
        desk(session, DECIDED).decide(APPEAL_REVIEWER, "any", outcome, reasons)
    assert set(raised.value.errors) == fields


@pytest.mark.parametrize(
    ("filters", "fields"),
    [
        ({"status": "open"}, {"status"}),
        ({"overdue": "yes"}, {"overdue"}),
        ({"page": 0, "page_size": 201}, {"page", "page_size"}),
        ({"case_type": "enrolment", "case_id": 5}, {"case_type", "case_id"}),
    ],
)
def test_bad_list_filters_list_every_bad_field(session, filters, fields):
    with pytest.raises(ValidationError) as raised:
        desk(session, DECIDED).list(REVIEWER, **filters)
    assert set(raised.value.errors) == fields
