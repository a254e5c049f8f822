"""Against the real counter: questions from the scheme's first day are answered, earlier ones refused with the
start date; a woman's post recorded at registration decides her retirement age."""

from __future__ import annotations

from datetime import date

import pytest

from services.insurance.exceptions import BeforeSchemeStart, NotEligible
from shared.platform.errors import ValidationError

from .conftest import id_number
from .test_workflow import CASEWORKER, pension, registration, resident

WORKER_1975 = id_number(date(1975, 1, 20), male=False, serial=61)  # a woman worker: 50y1m, 2025-02-20
WORKER_1974 = id_number(date(1974, 12, 20), male=False, serial=62)  # before the reform: 50, 2024-12-20
MAN_1965 = id_number(date(1965, 1, 10), male=True, serial=63)  # 60y1m, 2025-02-10
PERMIT = {"number": "ZJ33028201", "issued_in_cixi": True, "valid_until": "2030-06-30"}


def test_pension_questions_start_on_2021_12_01(counter):
    with pytest.raises(BeforeSchemeStart, match="begins on 2021-12-01"):
        counter.desk(date(2021, 11, 30)).check_eligibility(resident(), "pension", CASEWORKER)
    opening = date(2021, 12, 1)
    counter.desk(opening).register_employment(registration(start_date="2021-11-20"), CASEWORKER)
    answer = counter.desk(opening).check_eligibility(resident(), "pension.flexible", CASEWORKER)
    assert answer["eligible"] is True and answer["on"] == "2021-12-01"
    enrolment = counter.desk(opening).enrol_pension(pension(contribution_base_fen=400_000), CASEWORKER)
    assert enrolment["policy_year"] == 2021 and "[assumed]" in enrolment["policy_ref"]


def test_a_question_dated_back_before_the_start_is_refused_the_same_way(counter):
    with pytest.raises(BeforeSchemeStart, match="2021-11-30 is before it"):
        counter.desk(date(2026, 3, 2)).check_eligibility(resident(), "medical", CASEWORKER, on="2021-11-30")


def _register(counter, number, today, **extra):
    person = resident(number, permit=PERMIT)
    counter.desk(today).register_employment(registration(resident=person, start_date="2024-06-03", **extra), CASEWORKER)
    return person


@pytest.mark.parametrize(
    "number, on, eligible",
    [
        (WORKER_1974, date(2024, 12, 19), True),
        (WORKER_1974, date(2024, 12, 20), False),
        (WORKER_1975, date(2025, 2, 19), True),
        (WORKER_1975, date(2025, 2, 20), False),
    ],
)
def test_a_woman_workers_retirement_age_follows_her_birth_month(counter, number, on, eligible):
    person = _register(counter, number, date(2024, 7, 1), retirement_category="female_worker")
    answer = counter.desk(on).check_eligibility(person, "pension.flexible", CASEWORKER)
    assert answer["eligible"] is eligible


def test_an_unrecorded_post_takes_the_later_age_and_a_man_has_no_post(counter):
    person = _register(counter, WORKER_1974, date(2024, 7, 1))
    assert counter.desk(date(2024, 12, 20)).check_eligibility(person, "pension.flexible", CASEWORKER)["eligible"]
    with pytest.raises(ValidationError) as caught:
        _register(counter, MAN_1965, date(2024, 7, 1), retirement_category="female_worker")
    assert "retirement_category" in caught.value.errors


@pytest.mark.parametrize("on, eligible", [(date(2025, 2, 9), True), (date(2025, 2, 10), False)])
def test_a_man_born_in_january_1965_works_to_60_and_a_month(counter, on, eligible):
    person = _register(counter, MAN_1965, date(2024, 7, 1))
    if eligible:
        assert counter.desk(on).enrol_pension(pension(resident=person, start_date=None), CASEWORKER)
        return
    with pytest.raises(NotEligible, match="outside working age"):
        counter.desk(on).enrol_pension(pension(resident=person), CASEWORKER)
