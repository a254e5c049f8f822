"""The statutory retirement age by birth month and category (2024 reform), on the seeded policy book."""

from __future__ import annotations

from datetime import date

import pytest

from services.insurance import rules
from services.insurance.exceptions import BeforeSchemeStart
from services.insurance.retirement import category_of, retirement
from services.insurance.rules import EmploymentFacts, Facts, PersonFacts

# (category, birth, statutory age as text, retirement day) — the reform's table: the first cohort of each
# category is the one whose old retirement month is 2025-01; each later cohort retires a month later
SCHEDULE = [
    ("male", date(1964, 12, 10), "60y", date(2024, 12, 10)),
    ("male", date(1965, 1, 10), "60y1m", date(2025, 2, 10)),
    ("male", date(1965, 4, 30), "60y1m", date(2025, 5, 30)),
    ("male", date(1965, 5, 1), "60y2m", date(2025, 7, 1)),
    ("male", date(1976, 8, 31), "62y11m", date(2039, 7, 31)),
    ("male", date(1976, 9, 1), "63y", date(2039, 9, 1)),
    ("male", date(1990, 1, 1), "63y", date(2053, 1, 1)),
    ("female_worker", date(1974, 12, 31), "50y", date(2024, 12, 31)),
    ("female_worker", date(1975, 1, 1), "50y1m", date(2025, 2, 1)),
    ("female_worker", date(1975, 2, 28), "50y1m", date(2025, 3, 28)),
    ("female_worker", date(1975, 3, 1), "50y2m", date(2025, 5, 1)),
    ("female_worker", date(1984, 10, 15), "54y11m", date(2039, 9, 15)),
    ("female_worker", date(1984, 11, 15), "55y", date(2039, 11, 15)),
    ("female_cadre", date(1969, 12, 31), "55y", date(2024, 12, 31)),
    ("female_cadre", date(1970, 1, 1), "55y1m", date(2025, 2, 1)),
    ("female_cadre", date(1981, 9, 1), "58y", date(2039, 9, 1)),
]


@pytest.mark.parametrize("category, birth, age, day", SCHEDULE)
def test_the_reform_schedule(book, category, birth, age, day):
    retires = retirement(birth, category, book, 2026)
    assert (retires.age_text, retires.on) == (age, day)
    assert "渐进式延迟法定退休年龄" in retires.policy_ref


def test_a_womans_post_decides_her_age_and_an_unrecorded_post_takes_the_later_age():
    assert category_of("male", None) == "male"
    assert category_of("female", "female_worker") == "female_worker"
    assert category_of("female", None) == "female_cadre"


@pytest.mark.parametrize(
    "birth, sex, post, on, working",
    [
        (date(1964, 12, 10), "male", None, date(2024, 12, 9), True),
        (date(1964, 12, 10), "male", None, date(2024, 12, 10), False),  # 60, before the reform
        (date(1965, 1, 10), "male", None, date(2025, 1, 10), True),  # 60, but retires at 60y1m
        (date(1965, 1, 10), "male", None, date(2025, 2, 10), False),
        (date(1974, 12, 20), "female", "female_worker", date(2024, 12, 20), False),  # 50 was wrongly 55
        (date(1975, 1, 20), "female", "female_worker", date(2025, 2, 19), True),
        (date(1975, 1, 20), "female", "female_worker", date(2025, 2, 20), False),
        (date(1974, 12, 20), "female", None, date(2024, 12, 20), True),  # not recorded: the cadre age
        (date(1969, 12, 20), "female", None, date(2024, 12, 20), False),
    ],
)
def test_working_age_ends_on_the_retirement_day(book, birth, sex, post, on, working):
    employment = EmploymentFacts("flexible", "浒山街道", date(2024, 1, 5), late=False, retirement_category=post)
    answer = rules.evaluate("medical", "employee_points", Facts(PersonFacts(birth, sex, "other"), employment), book, on)
    assert ("working_age" not in {r.rule for r in answer.failed}) is working


@pytest.mark.parametrize("scheme", ["pension", "medical", "elderly_care"])
def test_a_question_before_the_policy_book_begins_names_the_start(book, scheme):
    facts = Facts(PersonFacts(date(1990, 5, 1), "male", "other"))
    route = rules.ROUTES[scheme][0]
    with pytest.raises(BeforeSchemeStart, match="begins on 2021-12-01") as caught:
        rules.evaluate(scheme, route, facts, book, date(2021, 11, 30))
    assert caught.value.starts_on == "2021-12-01"
    assert rules.evaluate(scheme, route, facts, book, date(2021, 12, 1)).rules  # answered, not PolicyMissing
