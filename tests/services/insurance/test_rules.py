"""Rule tables for every route, with the age edges, on the policy figures the migration seeds."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from services.insurance import rules
from services.insurance.exceptions import PolicyMissing
from services.insurance.policy import Figure, PolicyBook
from services.insurance.rules import EmploymentFacts, Facts, ParentFacts, Permit, PersonFacts, RecordedCover

from .conftest import years_before

ON = date(2026, 6, 15)
CIXI_PERMIT = Permit(issued_in_cixi=True, valid_until=date(2027, 6, 30))
ZHEJIANG_PERMIT = Permit(issued_in_cixi=False, valid_until=date(2027, 6, 30))
EXPIRED_PERMIT = Permit(issued_in_cixi=True, valid_until=ON - timedelta(days=1))
FLEXIBLE = EmploymentFacts("flexible", "浒山街道", date(2026, 1, 5), late=False)
EMPLOYEE = EmploymentFacts("employee", "宗汉街道", date(2026, 1, 5), late=False)


def person(age: int = 30, sex: str = "male", hukou: str = "other", permit: Permit | None = CIXI_PERMIT, days=0):
    """Someone who turns `age` on ON; days=-1 makes them one day short of it."""
    return PersonFacts(years_before(ON, age, days), sex, hukou, permit)


def baby(days_old: int, **kwargs) -> PersonFacts:
    return PersonFacts(ON - timedelta(days=days_old), "female", "other", None)


def parent(status="active", months=24, hukou="other", permit=CIXI_PERMIT, cover=None) -> ParentFacts:
    return ParentFacts(person(hukou=hukou, permit=permit), status, contribution_months=months, recorded_cover=cover)


EMPLOYER_COVER = RecordedCover("employee", insured_since=date(2020, 3, 1), benefits_normal=True)


def born(birth: date) -> PersonFacts:
    return PersonFacts(birth, "female", "other", None)


def with_figure(book: PolicyBook, name: str, value: int) -> PolicyBook:
    """The book as a migration adding a 2022 row for `name` would make it."""
    figures = [
        Figure(r["name"], r["effective_year"], Decimal(r["value"]), r["unit"], r["policy_ref"]) for r in book.table()
    ]
    return PolicyBook([*figures, Figure(name, 2022, Decimal(value), "flag", "test")])


def failed(answer: rules.RouteAnswer) -> set[str]:
    return {r.rule for r in answer.failed}


RETIRED_MAN = PersonFacts(date(1966, 1, 15), "male", "other")  # 60y4m on 2026-05-15

MEDICAL = [
    # (case, route, facts, failed rules)
    ("points: non-local flexible worker", "employee_points", Facts(person(), FLEXIBLE), set()),
    ("points: local hukou", "employee_points", Facts(person(hukou="cixi"), FLEXIBLE), {"non_local_hukou"}),
    ("points: registered as employee", "employee_points", Facts(person(), EMPLOYEE), {"flexible_registration"}),
    ("points: not registered", "employee_points", Facts(person(), None), {"flexible_registration"}),
    ("points: 16 tomorrow", "employee_points", Facts(person(16, days=-1), FLEXIBLE), {"working_age"}),
    ("points: 16 today", "employee_points", Facts(person(16), FLEXIBLE), set()),
    ("points: man 60 tomorrow", "employee_points", Facts(person(60, days=-1), FLEXIBLE), set()),
    # born 1966-06 (man) / 1971-06 (woman, post not recorded: cadre age): the reform adds 5 months
    ("points: man turning 60 today", "employee_points", Facts(person(60), FLEXIBLE), set()),
    ("points: man born 1966-01, retired at 60y4m", "employee_points", Facts(RETIRED_MAN, FLEXIBLE), {"working_age"}),
    ("points: woman 55 tomorrow", "employee_points", Facts(person(55, "female", days=-1), FLEXIBLE), set()),
    ("points: woman 55 today", "employee_points", Facts(person(55, "female"), FLEXIBLE), set()),
    ("resident: Cixi permit", "resident", Facts(person()), set()),
    ("resident: permit from elsewhere", "resident", Facts(person(permit=ZHEJIANG_PERMIT)), {"cixi_residence"}),
    ("resident: permit expired yesterday", "resident", Facts(person(permit=EXPIRED_PERMIT)), {"cixi_residence"}),
    ("resident: no permit", "resident", Facts(person(permit=None)), {"cixi_residence"}),
    ("resident: Cixi hukou", "resident", Facts(person(hukou="cixi", permit=None)), set()),
    ("newborn: born today", "newborn", Facts(baby(0), parent=parent(), birth_certificate=True), set()),
    ("newborn: no certificate", "newborn", Facts(baby(10), parent=parent()), {"birth_certificate"}),
    (
        "newborn: parent suspended",
        "newborn",
        Facts(baby(10), parent=parent(status="suspended"), birth_certificate=True),
        {"parent_insured"},
    ),
    (
        "newborn: parent not insured here, nothing recorded",
        "newborn",
        Facts(baby(10), parent=parent(status=None), birth_certificate=True),
        {"parent_insured"},
    ),
    (
        "newborn: parent's employer cover recorded, benefits normal",
        "newborn",
        Facts(baby(10), parent=parent(status=None, cover=EMPLOYER_COVER), birth_certificate=True),
        set(),
    ),
    (
        "newborn: parent's employer cover recorded, benefits not normal",
        "newborn",
        Facts(
            baby(10),
            parent=parent(status=None, cover=replace(EMPLOYER_COVER, benefits_normal=False)),
            birth_certificate=True,
        ),
        {"parent_insured"},
    ),  # fmt: skip
    (
        "newborn: parent's cover recorded from tomorrow",
        "newborn",
        Facts(
            baby(10),
            parent=parent(status=None, cover=replace(EMPLOYER_COVER, insured_since=ON + timedelta(1))),
            birth_certificate=True,
        ),
        {"parent_insured"},
    ),  # fmt: skip
    (
        "newborn: parent 0 months of contributions (the [assumed] rule is off)",
        "newborn",
        Facts(baby(10), parent=parent(months=0), birth_certificate=True),
        set(),
    ),
    (
        "newborn: parent's permit from elsewhere",
        "newborn",
        Facts(baby(10), parent=parent(permit=ZHEJIANG_PERMIT), birth_certificate=True),
        {"parent_cixi_permit"},
    ),
    (
        "newborn: no parent given",
        "newborn",
        Facts(baby(10), birth_certificate=True),
        {"parent_insured", "parent_cixi_permit"},
    ),
    ("preschool: aged 3", "preschool", Facts(person(3), parent=parent(status=None)), set()),
    ("preschool: aged 10 days", "preschool", Facts(baby(10), parent=parent(status=None)), {"past_newborn_age"}),
    (
        "preschool: parent's permit expired",
        "preschool",
        Facts(person(3), parent=parent(permit=EXPIRED_PERMIT)),
        {"parent_cixi_permit"},
    ),
    (
        "preschool: parent with Cixi hukou",
        "preschool",
        Facts(person(3), parent=parent(hukou="cixi", permit=None)),
        set(),
    ),
]


@pytest.mark.parametrize("case, route, facts, expected", MEDICAL, ids=[row[0] for row in MEDICAL])
def test_medical_routes(book, case, route, facts, expected):
    answer = rules.evaluate("medical", route, facts, book, ON)
    assert failed(answer) == expected
    assert answer.eligible is (not expected)
    # every rule of the route is reported, passed or failed, each with a reason and a detail
    assert [r.rule for r in answer.rules] == [
        rule(facts, book, ON).rule for rule in rules.ROUTE_RULES[("medical", route)]
    ]
    assert all(r.reason and r.detail for r in answer.rules)


PENSION = [
    ("flexible: registered flexible worker", "flexible", Facts(person(), FLEXIBLE), set()),
    ("flexible: no registration", "flexible", Facts(person(), None), {"flexible_registration"}),
    ("flexible: local hukou too", "flexible", Facts(person(hukou="cixi"), FLEXIBLE), set()),
    ("flexible: past working age", "flexible", Facts(person(61), FLEXIBLE), {"working_age"}),
    ("employee: registered employee", "employee", Facts(person(), EMPLOYEE), set()),
    ("employee: registered flexible", "employee", Facts(person(), FLEXIBLE), {"employee_registration"}),
]


@pytest.mark.parametrize("case, route, facts, expected", PENSION, ids=[row[0] for row in PENSION])
def test_pension_routes(book, case, route, facts, expected):
    answer = rules.evaluate("pension", route, facts, book, ON)
    assert failed(answer) == expected
    hukou_rule = next(r for r in answer.rules if r.rule == "hukou_not_required")
    assert hukou_rule.passed and "2021-12" in hukou_rule.detail


ELDERLY = [
    (
        "60 tomorrow, non-hukou",
        person(60, days=-1),
        "not eligible: aged under 60; hukou required; self-paid service available",
    ),
    ("60 today, non-hukou", person(60), "not eligible: hukou required; self-paid service available"),
    (
        "60 tomorrow, Cixi hukou",
        person(60, days=-1, hukou="cixi"),
        "not eligible: aged under 60; self-paid service available",
    ),
    ("60 today, Cixi hukou", person(60, hukou="cixi"), "eligible"),
]


@pytest.mark.parametrize("case, facts, expected", ELDERLY, ids=[row[0] for row in ELDERLY])
def test_elderly_care_never_a_bare_no(book, case, facts, expected):
    answer = rules.evaluate("elderly_care", "subsidy", Facts(facts), book, ON)
    assert answer.answer == expected
    assert answer.to_dict()["alternatives"] == ([] if answer.eligible else ["self-paid service available"])


# --- pension base range and contributions (2026 average wage 7,437.00 yuan: 60 % = 4,462.20, 300 % = 22,311.00)


def test_base_range_comes_from_the_year_table(book):
    r2026, r2025 = rules.base_range(book, 2026), rules.base_range(book, 2025)
    assert (r2026.min_fen, r2026.max_fen) == (446_220, 2_231_100)
    assert (r2025.min_fen, r2025.max_fen) == (434_580, 2_172_900)
    assert "446220" in r2026.message() and "2231100" in r2026.message() and "60 %–300 %" in r2026.message()


@pytest.mark.parametrize(
    "route, base, monthly, personal, employer",
    [
        ("flexible", 446_220, 89_244, 35_698, None),  # 20 % of the lowest base; 8 % to the account
        ("flexible", 446_223, 89_245, 35_698, None),  # 89,244.6 fen rounds half up
        ("flexible", 500_000, 100_000, 40_000, None),
        ("flexible", 2_231_100, 446_220, 178_488, None),
        ("employee", 500_000, 40_000, 40_000, 80_000),  # employee 8 %, employer 16 %
    ],
)
def test_pension_contribution(book, route, base, monthly, personal, employer):
    contribution = rules.pension_contribution(book, 2026, route, base)
    assert (contribution.monthly_fen, contribution.personal_account_fen, contribution.employer_fen) == (
        monthly,
        personal,
        employer,
    )
    assert any("pension.average_wage_monthly_fen=743700" in ref for ref in contribution.policy_refs)


def test_medical_contribution_is_one_table_for_everyone(book):
    adult_local = rules.medical_contribution(book, 2026, "resident", person(hukou="cixi"), ON)
    adult_migrant = rules.medical_contribution(book, 2026, "resident", person(hukou="other"), ON)
    child = rules.medical_contribution(book, 2026, "newborn", baby(3), ON)
    assert adult_local.yearly_fen == adult_migrant.yearly_fen == 68_000
    assert child.yearly_fen == 43_000


# --- employment registration -------------------------------------------------------------------------


@pytest.mark.parametrize("days, late", [(0, False), (60, False), (61, True), (200, True)])
def test_registration_later_than_60_days_is_flagged(book, days, late):
    lateness = rules.registration_lateness(book, ON - timedelta(days=days), ON)
    assert (lateness.days_after_start, lateness.late, lateness.deadline_days) == (days, late, 60)


@pytest.mark.parametrize(
    "facts, failed_rules",
    [
        (person(), set()),
        (person(permit=ZHEJIANG_PERMIT), set()),  # any Zhejiang permit will do for registration
        (person(permit=None), {"zhejiang_permit"}),
        (person(permit=EXPIRED_PERMIT), {"zhejiang_permit"}),
        (person(hukou="cixi", permit=None), set()),
        (person(16, days=-1), {"minimum_age"}),
        (person(16), set()),
    ],
)
def test_employment_registration_rules(book, facts, failed_rules):
    assert {r.rule for r in rules.employment_rules(facts, book, ON) if not r.passed} == failed_rules


# --- the policy book ---------------------------------------------------------------------------------


def test_a_figure_is_in_force_from_its_year_until_superseded(book):
    assert book.figure("pension.average_wage_monthly_fen", 2025).as_int == 724_300
    assert book.figure("pension.average_wage_monthly_fen", 2030).effective_year == 2026  # latest known
    assert book.figure("pension.flexible_rate_pct", 2026).policy_ref.startswith("Zhejiang HRSS")
    with pytest.raises(PolicyMissing, match="2020"):
        book.figure("pension.average_wage_monthly_fen", 2020)


def test_every_seeded_figure_has_a_reference(book):
    table = book.table()
    assert len(table) >= 20
    assert all(row["policy_ref"] and row["effective_year"] >= 2021 for row in table)


def test_the_edge_helpers_mean_what_they_say():
    assert person(60, days=-1).age_years(ON) == 59 and person(60).age_years(ON) == 60
    assert baby(183).age_days(ON) == 183


# The newborn window runs through the day the child is six calendar months old [assumed reading of 0-6个月]
NEWBORN_EDGES = [
    (date(2025, 7, 1), date(2026, 1, 1), True),  # six months old today
    (date(2025, 7, 1), date(2026, 1, 2), False),
    (date(2025, 1, 31), date(2025, 7, 31), True),  # a month end: July has a 31st
    (date(2025, 1, 31), date(2025, 8, 1), False),
    (date(2025, 8, 31), date(2026, 2, 28), True),  # February has no 31st: its last day
    (date(2025, 8, 31), date(2026, 3, 1), False),
    (date(2023, 8, 31), date(2024, 2, 29), True),  # a leap year
    (date(2023, 8, 31), date(2024, 3, 1), False),
    (date(2025, 7, 1), date(2025, 6, 30), False),  # not born yet
]


@pytest.mark.parametrize(("birth", "on", "eligible"), NEWBORN_EDGES, ids=lambda v: str(v))
def test_the_newborn_window_in_calendar_months(book, birth, on, eligible):
    assert rules.newborn_age(Facts(born(birth)), book, on).passed is eligible
    # the preschool route starts the day after: the two never overlap
    assert rules.past_newborn_age(Facts(born(birth)), book, on).passed is (on > rules.newborn_last_day(birth, book, on))
    if birth <= on:
        assert (
            rules.newborn_age(Facts(born(birth)), book, on).passed
            != rules.past_newborn_age(Facts(born(birth)), book, on).passed
        )


# Primary school starts on 1 September of the year the child is six by 31 August [assumed]
SCHOOL_EDGES = [
    (date(2019, 8, 31), date(2025, 8, 31), True),  # six on the cutoff day: school from 1 Sep 2025
    (date(2019, 8, 31), date(2025, 9, 1), False),
    (date(2019, 9, 1), date(2025, 9, 1), True),  # six the day after the cutoff: a year more
    (date(2019, 9, 1), date(2026, 8, 31), True),
    (date(2019, 9, 1), date(2026, 9, 1), False),
    (date(2020, 2, 29), date(2026, 8, 31), True),
    (date(2020, 2, 29), date(2026, 9, 1), False),
]


@pytest.mark.parametrize(("birth", "on", "eligible"), SCHOOL_EDGES, ids=lambda v: str(v))
def test_the_preschool_route_ends_where_primary_school_starts(book, birth, on, eligible):
    assert rules.preschool_age(Facts(born(birth)), book, on).passed is eligible


def test_the_parents_contribution_months_count_only_when_the_assumed_setting_is_on(book):
    facts = Facts(baby(10), parent=parent(months=11), birth_certificate=True)
    assert failed(rules.evaluate("medical", "newborn", facts, book, ON)) == set()
    switched_on = with_figure(book, "medical.newborn_parent_contribution_check", 1)
    assert failed(rules.evaluate("medical", "newborn", facts, switched_on, ON)) == {"parent_contribution_months"}
    facts_12 = Facts(baby(10), parent=parent(months=12), birth_certificate=True)
    assert failed(rules.evaluate("medical", "newborn", facts_12, switched_on, ON)) == set()
