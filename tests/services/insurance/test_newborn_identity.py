"""A newborn not yet issued an ID number joins on the birth certificate (出生医学证明), whose number is personal
data like an ID number: validated, encrypted, masked, never in an event, error or log line. The newborn window is
counted in calendar months at the counter as in the rule (issue #16 item 1)."""

from __future__ import annotations

import json
import logging
from datetime import date

import pytest

from services.insurance.exceptions import DuplicateEnrolment, NotEligible
from shared.platform.errors import ValidationError
from shared.platform.personal_data import PiiLogFilter, find_personal_data, mask_birth_certificate, mask_text

from .conftest import CASEWORKER, REVIEWER, id_number, resident_caller

BORN = date(2026, 1, 31)  # a month end: the window runs to 31 July
SIX_MONTHS_OLD = date(2026, 7, 31)
CERTIFICATE = "Q330123456"
PERMIT = {"number": "ZJ33028209", "issued_in_cixi": True, "valid_until": "2030-06-30"}
MOTHER = id_number(date(1995, 4, 9), male=False, serial=58)
EMPLOYER_COVER = {"scheme": "employee", "insured_since": "2022-03-01", "benefits_normal": True}


def mother(**extra) -> dict:
    return {"id_number": MOTHER, "hukou": "other", "residence_permit": PERMIT, "medical_cover": EMPLOYER_COVER, **extra}


def child(**extra) -> dict:
    values = {
        "birth_certificate_number": CERTIFICATE.lower(),  # typed in lower case: normalised
        "birth_date": BORN.isoformat(),
        "sex": "female",
        "hukou": "other",
        "parent": mother(),
    }
    values.update(extra)
    return values


def newborn(**extra) -> dict:
    return {"resident": child(**extra), "route": "newborn", "town": "宗汉"}


def test_a_newborn_without_an_id_number_joins_on_the_birth_certificate(counter):
    enrolment = counter.desk(SIX_MONTHS_OLD).enrol_medical(newborn(), CASEWORKER)
    assert enrolment["id_number_masked"] == "Q*****3456" == mask_birth_certificate(CERTIFICATE)
    assert enrolment["resident_id"] == counter.pii.resident_id_from_birth_certificate(CERTIFICATE)
    assert enrolment["guardian_resident_id"] == counter.pii.resident_id(MOTHER)
    assert enrolment["yearly_contribution_fen"] == 43_000  # a minor's resident contribution
    counter.desk(SIX_MONTHS_OLD).decide("activate", {"enrolment_id": enrolment["enrolment_id"]}, REVIEWER)
    # found again by the certificate: a second application is the same child
    with pytest.raises(DuplicateEnrolment):
        counter.desk(SIX_MONTHS_OLD).enrol_medical(newborn(), CASEWORKER)
    # the mother asks about her child's enrolment, as a parent does
    as_mother = resident_caller(counter.pii, MOTHER)
    listed = counter.desk(SIX_MONTHS_OLD).list_enrolments({}, as_mother)
    assert [item["route"] for item in listed["items"]] == ["newborn"]
    bodies = json.dumps(counter.events(), ensure_ascii=False)
    assert CERTIFICATE not in bodies and CERTIFICATE.lower() not in bodies and MOTHER not in bodies
    assert find_personal_data(bodies) == []


def test_the_newborn_window_at_the_counter_ends_the_day_the_child_is_six_months_old(counter):
    answer = counter.desk(SIX_MONTHS_OLD).check_eligibility(child(), "medical.newborn", CASEWORKER)
    assert answer["eligible"] is True
    later = counter.desk(date(2026, 8, 1)).check_eligibility(child(), "medical.newborn", CASEWORKER)
    assert later["eligible"] is False and later["answer"] == "not eligible: older than 6 months"
    preschool = counter.desk(date(2026, 8, 1)).check_eligibility(child(), "medical.preschool", CASEWORKER)
    assert preschool["eligible"] is True  # the preschool route starts the next day
    with pytest.raises(NotEligible, match="older than 6 months"):
        counter.desk(date(2026, 8, 1)).enrol_medical(newborn(), CASEWORKER)


def test_the_parents_cover_must_be_in_force_with_normal_benefits(counter):
    not_normal = mother(medical_cover={**EMPLOYER_COVER, "benefits_normal": False})
    with pytest.raises(NotEligible, match="a parent insured in Cixi with normal status required"):
        counter.desk(SIX_MONTHS_OLD).enrol_medical(newborn(parent=not_normal), CASEWORKER)
    not_yet = mother(medical_cover={**EMPLOYER_COVER, "insured_since": "2026-08-01"})
    with pytest.raises(NotEligible, match="a parent insured in Cixi with normal status required"):
        counter.desk(SIX_MONTHS_OLD).enrol_medical(newborn(parent=not_yet), CASEWORKER)
    on_the_day = mother(medical_cover={**EMPLOYER_COVER, "insured_since": SIX_MONTHS_OLD.isoformat()})
    assert counter.desk(SIX_MONTHS_OLD).enrol_medical(newborn(parent=on_the_day), CASEWORKER)["status"] == "pending"


def test_the_12_month_contribution_rule_is_off_by_default(counter):
    answer = counter.desk(SIX_MONTHS_OLD).check_eligibility(
        child(parent=mother(employee_contribution_months=0)), "medical.newborn", CASEWORKER
    )
    rule = next(r for r in answer["routes"][0]["rules"] if r["rule"] == "parent_contribution_months")
    assert rule["passed"] is True and rule["detail"] == "the setting is off"
    assert "[assumed" in rule["policy_ref"]


BAD = [
    ("a bad certificate number", {"birth_certificate_number": "33012345"}, {"resident.birth_certificate_number"}),
    ("no birth date or sex", {"birth_date": None, "sex": None}, {"resident.birth_date", "resident.sex"}),
    ("born tomorrow", {"birth_date": "2026-08-01"}, {"resident.birth_date"}),
    (
        "neither ID nor certificate",
        {"birth_certificate_number": None},
        {"resident.id_number", "resident.birth_certificate_number"},  # the newborn route asks for both
    ),
    (
        "an ID number with a stated birth date",
        {"id_number": id_number(BORN, male=False, serial=3)},
        {"resident.birth_date", "resident.sex"},
    ),
]


@pytest.mark.parametrize("case, change, fields", BAD, ids=[row[0] for row in BAD])
def test_bad_identities_list_every_bad_field_and_never_repeat_the_number(counter, case, change, fields):
    with pytest.raises(ValidationError) as caught:
        counter.desk(SIX_MONTHS_OLD).enrol_medical(newborn(**change), CASEWORKER)
    assert set(caught.value.errors) == fields
    assert "33012345" not in str(caught.value.errors)


def test_only_a_newborn_joins_without_an_id_number(counter):
    with pytest.raises(ValidationError) as caught:
        counter.desk(SIX_MONTHS_OLD).enrol_medical({**newborn(), "route": "preschool"}, CASEWORKER)
    assert set(caught.value.errors) == {"resident.id_number"}


def test_a_certificate_number_is_masked_in_logs_and_found_by_the_privacy_check(caplog):
    assert mask_text(f"孩子出生证明{CERTIFICATE}，请核对") == "孩子出生证明Q*****3456，请核对"
    assert find_personal_data(f'{{"number": "{CERTIFICATE}"}}') == [CERTIFICATE]
    assert find_personal_data("SMS_912345678 enr-1a2b3c4d") == []  # provider codes and ids are not certificates
    record = logging.LogRecord("insurance", logging.INFO, __file__, 1, "certificate %s", (CERTIFICATE,), None)
    PiiLogFilter().filter(record)
    assert record.getMessage() == "certificate Q*****3456"
