"""The counter's steps on a real database (SQLite and PostgreSQL), with the real outbox writer: what is
stored, what is refused, and which contract-valid events are written in the same transaction."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from services.insurance.appeals import EnrolmentAppeals
from services.insurance.exceptions import (
    DuplicateEnrolment,
    DuplicateRegistration,
    EnrolmentNotFound,
    InvalidTransition,
    MakerCheckerViolation,
    NotEligible,
)
from services.insurance.models import Appeal
from services.insurance.workflow import Desk
from shared.cixi.appeals import Appeals, AppealSettings
from shared.platform.auth import Caller
from shared.platform.clock import SHANGHAI
from shared.platform.contracts import validate_envelope
from shared.platform.errors import Forbidden, ValidationError

from .conftest import ADMIN, CASEWORKER, REVIEWER, id_number, resident_caller, years_before

TODAY = date(2026, 3, 2)
APPEAL_REVIEWER = Caller("rv-zhou", frozenset({"reviewer"}))
WORKER = id_number(date(1990, 5, 17), male=True, serial=41)
MOTHER = id_number(date(1994, 8, 2), male=False, serial=52)
NEWBORN = id_number(TODAY - timedelta(days=40), male=False, serial=7)
CIXI_PERMIT = {"number": "ZJ33028201", "issued_in_cixi": True, "valid_until": "2027-06-30"}


def resident(number=WORKER, hukou="other", permit=CIXI_PERMIT, **extra) -> dict:
    return {"id_number": number, "hukou": hukou, "residence_permit": permit, **extra}


def registration(**overrides) -> dict:
    payload = {"resident": resident(), "kind": "flexible", "start_date": "2026-01-05", "town": "浒山"}
    payload.update(overrides)
    return payload


def pension(**overrides) -> dict:
    payload = {"resident": resident(), "route": "flexible", "town": "浒山街道", "contribution_base_fen": 500_000}
    payload.update(overrides)
    return payload


def assert_no_personal_numbers(counter, *numbers):
    for event in counter.events():
        body = json.dumps(event, ensure_ascii=False)
        for number in numbers:
            assert number not in body and number[:17] not in body


# --- employment registration -------------------------------------------------------------------------


def test_registration_records_the_lateness_flag_and_emits_a_contract_valid_event(counter):
    desk = counter.desk(TODAY)
    result = desk.register_employment(registration(start_date="2025-12-01"), CASEWORKER)
    assert (result["days_after_start"], result["late"], result["town"]) == (91, True, "浒山街道")
    assert result["flags"] == ["registered 91 days after starting work (> 60)"]
    on_time = counter.desk(TODAY).register_employment(
        registration(resident=resident(MOTHER), start_date="2026-01-01"), CASEWORKER
    )
    assert on_time["late"] is False and on_time["days_after_start"] == 60

    events = counter.events("employment_registered")
    assert len(events) == 2
    envelope, data = validate_envelope(events[0])
    assert data["resident_id"] == counter.pii.resident_id(WORKER) and data["late"] is True
    assert envelope["correlation_id"] == "test-correlation"
    assert_no_personal_numbers(counter, WORKER, MOTHER, CIXI_PERMIT["number"])


def test_registration_of_a_non_hukou_worker_needs_a_zhejiang_permit(counter):
    with pytest.raises(NotEligible, match="valid Zhejiang residence permit required"):
        counter.desk(TODAY).register_employment(registration(resident=resident(permit=None)), CASEWORKER)
    assert counter.events() == []


def test_the_same_registration_twice_is_refused(counter):
    counter.desk(TODAY).register_employment(registration(), CASEWORKER)
    with pytest.raises(DuplicateRegistration):
        counter.desk(TODAY).register_employment(registration(), CASEWORKER)


BAD_REGISTRATIONS = [
    (
        "every bad field at once",
        {
            "resident": {"id_number": "330282199005170000", "hukou": "mars"},
            "kind": "gig",
            "start_date": "x",
            "town": "?",
        },
        {"resident.id_number", "resident.hukou", "kind", "start_date", "town"},
    ),
    ("missing everything", {}, {"resident", "kind", "start_date", "town"}),
    ("employee without employer", registration(kind="employee"), {"employer_name"}),
    ("flexible with employer", registration(employer_name="慈溪某厂"), {"employer_name"}),
    (
        "future registration, work not yet started",
        registration(start_date="2026-03-10", registered_on="2026-03-05"),
        {"registered_on", "start_date"},
    ),
    ("unknown key", registration(phone="13812345678"), {"phone"}),
    (
        "bad permit",
        registration(resident=resident(permit={"number": "1", "issued_in_cixi": "maybe"})),
        {
            "resident.residence_permit.number",
            "resident.residence_permit.issued_in_cixi",
            "resident.residence_permit.valid_until",
        },
    ),
]


@pytest.mark.parametrize("case, payload, fields", BAD_REGISTRATIONS, ids=[row[0] for row in BAD_REGISTRATIONS])
def test_bad_registrations_list_every_bad_field(counter, case, payload, fields):
    with pytest.raises(ValidationError) as caught:
        counter.desk(TODAY).register_employment(payload, CASEWORKER)
    assert set(caught.value.errors) == fields
    assert "330282199005170000" not in str(caught.value)


# --- pension -----------------------------------------------------------------------------------------


def test_flexible_pension_needs_a_registration_then_computes_the_contribution(counter):
    with pytest.raises(NotEligible, match="flexible-employment registration in Cixi required"):
        counter.desk(TODAY).enrol_pension(pension(), CASEWORKER)
    counter.desk(TODAY).register_employment(registration(), CASEWORKER)
    enrolment = counter.desk(TODAY).enrol_pension(pension(), CASEWORKER)
    assert enrolment["status"] == "pending" and enrolment["policy_year"] == 2026
    assert (enrolment["monthly_contribution_fen"], enrolment["personal_account_fen"]) == (100_000, 40_000)
    assert enrolment["id_number_masked"] == WORKER[:6] + "********" + WORKER[-4:]
    assert "pension.average_wage_monthly_fen=743700" in enrolment["policy_ref"]
    assert {rule["rule"] for rule in enrolment["eligibility"]} == {
        "working_age",
        "flexible_registration",
        "hukou_not_required",
    }
    [created] = counter.events("enrolment_created")
    assert validate_envelope(created)[1]["enrolment_id"] == enrolment["enrolment_id"]


@pytest.mark.parametrize("base, ok", [(446_219, False), (446_220, True), (2_231_100, True), (2_231_101, False)])
def test_pension_base_outside_the_range_is_refused_with_the_range(counter, base, ok):
    counter.desk(TODAY).register_employment(registration(), CASEWORKER)
    if ok:
        assert counter.desk(TODAY).enrol_pension(pension(contribution_base_fen=base), CASEWORKER)["status"] == "pending"
        return
    with pytest.raises(ValidationError) as caught:
        counter.desk(TODAY).enrol_pension(pension(contribution_base_fen=base), CASEWORKER)
    [message] = caught.value.errors["contribution_base_fen"]
    assert "between 446220 and 2231100 fen" in message and "60 %–300 %" in message


def test_the_base_range_follows_the_start_year_and_is_reported_with_other_bad_fields(counter):
    with pytest.raises(ValidationError) as caught:
        counter.desk(TODAY).enrol_pension(
            pension(contribution_base_fen=430_000, start_date="2025-06-01", town="x"), CASEWORKER
        )
    assert set(caught.value.errors) == {"contribution_base_fen", "town"}
    assert "between 434580 and 2172900 fen" in caught.value.errors["contribution_base_fen"][0]


def test_duplicate_enrolment_is_refused_until_the_first_has_ended(counter):
    counter.desk(TODAY).register_employment(registration(), CASEWORKER)
    first = counter.desk(TODAY).enrol_pension(pension(), CASEWORKER)
    with pytest.raises(DuplicateEnrolment):
        counter.desk(TODAY).enrol_pension(pension(contribution_base_fen=600_000), CASEWORKER)
    counter.desk(TODAY).decide("activate", {"enrolment_id": first["enrolment_id"]}, REVIEWER)
    counter.desk(TODAY).decide("end", {"enrolment_id": first["enrolment_id"], "reason": "left_cixi"}, REVIEWER)
    again = counter.desk(TODAY).enrol_pension(pension(contribution_base_fen=600_000), CASEWORKER)
    assert again["enrolment_id"] != first["enrolment_id"]


# --- medical -----------------------------------------------------------------------------------------


def newborn_payload(**parent_extra) -> dict:
    mother = resident(MOTHER, employee_contribution_months=14, **parent_extra)
    child = resident(NEWBORN, permit=None, parent=mother, birth_certificate_number="Q330123456")
    return {"resident": child, "route": "newborn", "town": "宗汉"}


def test_newborn_joins_when_the_mother_is_insured_here(counter):
    with pytest.raises(NotEligible, match="a parent insured in Cixi with normal status required"):
        counter.desk(TODAY).enrol_medical(newborn_payload(), CASEWORKER)
    mother = counter.desk(TODAY).enrol_medical(
        {"resident": resident(MOTHER), "route": "resident", "town": "宗汉"}, CASEWORKER
    )
    counter.desk(TODAY).decide("activate", {"enrolment_id": mother["enrolment_id"]}, REVIEWER)

    child = counter.desk(TODAY).enrol_medical(newborn_payload(), CASEWORKER)
    assert child["resident_id"] == counter.pii.resident_id(NEWBORN)
    assert child["guardian_resident_id"] == counter.pii.resident_id(MOTHER)
    assert child["yearly_contribution_fen"] == 43_000
    assert_no_personal_numbers(counter, MOTHER, NEWBORN, "Q330123456")

    # the mother sees her child's enrolment; a stranger does not learn it exists
    as_mother = resident_caller(counter.pii, MOTHER)
    assert counter.desk(TODAY).get_enrolment(child["enrolment_id"], as_mother)["route"] == "newborn"
    listed = counter.desk(TODAY).list_enrolments({}, as_mother)
    assert {item["route"] for item in listed["items"]} == {"resident", "newborn"}
    stranger = resident_caller(counter.pii, WORKER)
    with pytest.raises(EnrolmentNotFound):
        counter.desk(TODAY).get_enrolment(child["enrolment_id"], stranger)
    assert counter.desk(TODAY).list_enrolments({}, stranger)["total"] == 0


def test_newborn_joins_on_the_parents_cover_held_elsewhere_as_the_caseworker_recorded_it(counter):
    """The mother's employer-paid 职工医保 is not held by this service: the caseworker records it."""
    cover = {"scheme": "employee", "insured_since": "2021-05-01", "benefits_normal": False}
    with pytest.raises(NotEligible, match="a parent insured in Cixi with normal status required"):
        counter.desk(TODAY).enrol_medical(newborn_payload(medical_cover=cover), CASEWORKER)
    child = counter.desk(TODAY).enrol_medical(
        newborn_payload(medical_cover={**cover, "benefits_normal": True}), CASEWORKER
    )
    insured = next(rule for rule in child["eligibility"] if rule["rule"] == "parent_insured")
    assert insured["passed"] and "recorded by the caseworker" in insured["detail"]


BAD_MEDICAL = [
    (
        "newborn without parent or certificate",
        {"route": "newborn"},
        {"resident.parent", "resident.birth_certificate_number"},
    ),
    ("preschool without parent", {"route": "preschool"}, {"resident.parent"}),
    ("unknown route", {"route": "dental"}, {"route"}),
]


@pytest.mark.parametrize("case, change, fields", BAD_MEDICAL, ids=[row[0] for row in BAD_MEDICAL])
def test_bad_medical_enrolments_list_every_bad_field(counter, case, change, fields):
    payload = {"resident": resident(NEWBORN, permit=None), "town": "宗汉", **change}
    with pytest.raises(ValidationError) as caught:
        counter.desk(TODAY).enrol_medical(payload, CASEWORKER)
    assert set(caught.value.errors) == fields


# --- eligibility answers -----------------------------------------------------------------------------


def test_elderly_care_for_a_non_hukou_senior_explains_and_offers_self_paid_service(counter):
    senior = id_number(years_before(TODAY, 66), serial=3)
    answer = counter.desk(TODAY).check_eligibility(resident(senior), "elderly_care", CASEWORKER)
    assert answer["eligible"] is False
    assert answer["answer"] == "not eligible: hukou required; self-paid service available"
    assert answer["answer_zh"].endswith("可在本市养老服务机构自费享受服务")
    [route] = answer["routes"]
    assert {(r["rule"], r["passed"]) for r in route["rules"]} == {("elderly_age", True), ("cixi_hukou", False)}


def test_medical_question_answers_all_four_routes(counter):
    answer = counter.desk(TODAY).check_eligibility(resident(), "medical", CASEWORKER)
    assert [r["route"] for r in answer["routes"]] == ["employee_points", "resident", "newborn", "preschool"]
    assert answer["answer"] == "eligible through: resident"


def test_a_resident_may_ask_only_about_themselves(counter):
    me = resident_caller(counter.pii, WORKER)
    assert counter.desk(TODAY).check_eligibility(resident(), "pension.flexible", me)["eligible"] is False
    with pytest.raises(Forbidden):
        counter.desk(TODAY).check_eligibility(resident(MOTHER), "pension.flexible", me)


# --- lifecycle ---------------------------------------------------------------------------------------


@pytest.fixture
def pending(counter):
    counter.desk(TODAY).register_employment(registration(), CASEWORKER)
    return counter.desk(TODAY).enrol_pension(pension(), CASEWORKER)["enrolment_id"]


def test_maker_checker_and_illegal_steps_are_refused(counter, pending):
    with pytest.raises(MakerCheckerViolation):
        counter.desk(TODAY).decide("activate", {"enrolment_id": pending}, CASEWORKER)
    with pytest.raises(InvalidTransition, match="cannot resume an enrolment that is pending"):
        counter.desk(TODAY).decide("resume", {"enrolment_id": pending}, REVIEWER)
    with pytest.raises(ValidationError) as caught:
        counter.desk(TODAY).decide("suspend", {"enrolment_id": pending}, REVIEWER)
    assert set(caught.value.errors) == {"reason"}
    active = counter.desk(TODAY).decide("activate", {"enrolment_id": pending}, ADMIN)
    # enterprise pension is continuous: it starts and has no period end
    assert (active["status"], active["coverage_start"], active["coverage_end"]) == ("active", "2026-03-02", None)
    with pytest.raises(InvalidTransition, match="cannot activate an enrolment that is active"):
        counter.desk(TODAY).decide("activate", {"enrolment_id": pending}, REVIEWER)
    counter.desk(TODAY).decide("end", {"enrolment_id": pending, "reason": "left_cixi"}, REVIEWER)
    for action in ("activate", "suspend", "resume", "renew", "end"):
        with pytest.raises(InvalidTransition):
            reason = {"suspend": "arrears", "end": "left_cixi"}.get(action)
            counter.desk(TODAY).decide(action, {"enrolment_id": pending, "reason": reason}, REVIEWER)
    assert [e["event_type"] for e in counter.events() if e["event_type"].startswith("enrolment_")] == [
        "enrolment_created",
        "enrolment_activated",
        "enrolment_ended",
    ]


def test_a_refusal_carries_its_code_and_the_note_only_when_marked_for_the_resident(counter, pending):
    note = {"enrolment_id": pending, "reason": "documents_incomplete", "note": "请补交13812345678的缴费凭证"}
    with pytest.raises(ValidationError) as caught:
        counter.desk(TODAY).decide("reject", {**note, "reason": "documents forged"}, REVIEWER)
    assert set(caught.value.errors) == {"reason"}
    with pytest.raises(ValidationError) as caught:
        counter.desk(TODAY).decide("reject", {**note, "note": None, "note_for_resident": True}, REVIEWER)
    assert set(caught.value.errors) == {"note"}
    decided = counter.desk(TODAY).decide("reject", {**note, "note_for_resident": True}, REVIEWER)
    assert decided["reason"] == "documents_incomplete: 请补交13812345678的缴费凭证"  # filed as written, for staff
    [rejected] = [validate_envelope(e)[1] for e in counter.events("enrolment_rejected")]
    assert (rejected["reasons"], rejected["note_for_resident"]) == (
        ["documents_incomplete"],
        "请补交138****5678的缴费凭证",
    )


def test_a_note_not_marked_for_the_resident_stays_in_the_file(counter, pending):
    counter.desk(TODAY).decide("activate", {"enrolment_id": pending}, REVIEWER)
    counter.desk(TODAY).decide("suspend", {"enrolment_id": pending, "reason": "arrears", "note": "内部核查"}, REVIEWER)
    [suspended] = [validate_envelope(e)[1] for e in counter.events("enrolment_suspended")]
    assert (suspended["reason"], suspended["note_for_resident"]) == ("arrears", None)
    with pytest.raises(EnrolmentNotFound):
        counter.desk(TODAY).decide("activate", {"enrolment_id": "no-such-id"}, REVIEWER)


@pytest.fixture
def medical(counter):
    payload = {"resident": resident(MOTHER), "route": "resident", "town": "宗汉"}
    return counter.desk(TODAY).enrol_medical(payload, CASEWORKER)["enrolment_id"]


def test_sweep_reminds_once_then_lapses_and_renewal_restores(counter, medical):
    pending = medical  # medical insurance runs in yearly periods
    counter.desk(TODAY).decide("activate", {"enrolment_id": pending}, REVIEWER)  # covers to 2027-03-01
    quiet = {"reminded": 0, "lapsed": 0, "retired": 0, "suspended_for_arrears": 0}
    assert counter.desk(date(2027, 1, 20)).sweep() == {"on": "2027-01-20", **quiet}
    assert counter.desk(date(2027, 2, 1)).sweep()["reminded"] == 1  # 28 days left, within 30
    assert counter.desk(date(2027, 2, 2)).sweep()["reminded"] == 0  # once per period
    [due] = counter.events("renewal_due")
    assert validate_envelope(due)[1]["days_left"] == 28
    assert counter.desk(date(2027, 3, 1)).sweep()["lapsed"] == 0  # last covered day
    assert counter.desk(date(2027, 3, 2)).sweep() == {"on": "2027-03-02", **quiet, "lapsed": 1}
    assert counter.desk(date(2027, 3, 3)).sweep()["lapsed"] == 0
    renewed = counter.desk(date(2027, 3, 20)).decide("renew", {"enrolment_id": pending}, CASEWORKER)
    assert (renewed["status"], renewed["coverage_start"], renewed["coverage_end"]) == (
        "active",
        "2027-03-20",
        "2028-03-19",
    )
    types = [e["event_type"] for e in counter.events()]
    assert types[-3:] == ["renewal_due", "enrolment_lapsed", "enrolment_renewed"]
    for event in counter.events():
        validate_envelope(event)


def test_the_sweep_reads_the_service_clock_not_the_process_clock(counter, medical):
    """A lapse is stamped with the desk's moment (the service's `self.clock`), which a test or an operator
    may set apart from the process clock."""
    counter.desk(TODAY).decide("activate", {"enrolment_id": medical}, REVIEWER)  # covers to 2027-03-01
    moment = datetime(2027, 3, 2, 9, 30, tzinfo=SHANGHAI).astimezone(UTC)
    assert Desk(counter.worker("test-correlation"), now=moment).sweep()["lapsed"] == 1
    [lapsed] = [validate_envelope(e)[1] for e in counter.events("enrolment_lapsed")]
    assert lapsed["lapsed_at"] == moment


def test_the_database_refuses_a_second_live_enrolment_even_past_the_check(counter):
    """The partial unique index is what stops two concurrent submissions; a final one does not count."""
    from sqlalchemy.exc import IntegrityError

    from services.insurance.models import Enrolment

    counter.desk(TODAY).register_employment(registration(), CASEWORKER)
    first = counter.desk(TODAY).enrol_pension(pension(), CASEWORKER)
    with counter.Session() as session:
        original = session.get(Enrolment, first["enrolment_id"])

        def clone(new_id: str, status: str) -> Enrolment:
            columns = {c.key: getattr(original, c.key) for c in Enrolment.__table__.columns}
            return Enrolment(**{**columns, "id": new_id, "status": status})

        session.add(clone("ended-one", "ended"))
        session.commit()
        session.add(clone("racing-one", "pending"))
        with pytest.raises(IntegrityError):
            session.commit()


def appealed(desk: Desk, enrolment_id: str, outcome: str) -> None:
    appeals = Appeals(desk.db, desk.outbox, Appeal, EnrolmentAppeals(desk), AppealSettings(), desk.now)
    appeal_id = appeals.lodge(CASEWORKER, "enrolment", enrolment_id, "已补交材料")["appeal_id"]
    appeals.start_review(APPEAL_REVIEWER, appeal_id)
    appeals.decide(APPEAL_REVIEWER, appeal_id, outcome, ["复核意见"])


def test_every_insurance_contract_is_published_by_some_step(counter, pending, medical):
    from shared.platform.contracts import registry

    desk = counter.desk
    desk(TODAY).decide("activate", {"enrolment_id": pending}, REVIEWER)
    desk(TODAY).decide("suspend", {"enrolment_id": pending, "reason": "arrears"}, REVIEWER)
    desk(TODAY).decide("resume", {"enrolment_id": pending}, REVIEWER)
    desk(TODAY).record_contribution({"enrolment_id": pending, "month": "2026-03"}, CASEWORKER)
    desk(TODAY).decide("activate", {"enrolment_id": medical}, REVIEWER)
    desk(date(2027, 2, 15)).sweep()
    desk(date(2027, 3, 5)).sweep()
    desk(date(2027, 3, 6)).decide("renew", {"enrolment_id": medical}, CASEWORKER)
    desk(date(2027, 3, 7)).decide(
        "end", {"enrolment_id": medical, "reason": "transferred_out", "note": "moved to Ningbo city"}, REVIEWER
    )
    desk(TODAY).decide("end", {"enrolment_id": pending, "reason": "transferred_out"}, REVIEWER)
    resident_route = {"resident": resident(WORKER), "route": "resident", "town": "宗汉"}
    for outcome in ("dismissed", "upheld"):  # the second enrolment is rejected, then reinstated on appeal
        other = desk(TODAY).enrol_medical(resident_route, CASEWORKER)["enrolment_id"]
        desk(TODAY).decide(
            "reject", {"enrolment_id": other, "reason": "rejected_on_review", "note": "permit forged"}, REVIEWER
        )
        appealed(desk(TODAY), other, outcome)

    published = {event["event_type"] for event in counter.events()}
    declared = {contract.event_type for contract in registry.published_by("insurance")}
    assert published == declared
    for event in counter.events():
        validate_envelope(event)
