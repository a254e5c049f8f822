"""Eligibility and amount rules, each on its own and combined, and the subsidy state machine."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.housing import rules
from services.housing.exceptions import InvalidTransition
from services.housing.models import SubsidyApplication
from services.housing.subsidy import TRANSITIONS, transition
from shared.platform.dates import add_months
from tests.services.housing.conftest import make_id_number

TODAY = date(2025, 6, 1)
POLICY = {
    "eligible_categories": ["new_graduate", "talent", "outstanding_migrant", "frontline_worker"],
    "min_age": 18,
    "require_residence_permit": True,
    "require_no_home_in_cixi": True,
    "require_employment_in_cixi": True,
    "standard_fen_per_m2": 1500,
    "guaranteed_area_m2": {
        str(size): area for size, area in zip(range(1, 11), (15, 25, 35, 40, 45, 50, 50, 50, 50, 50), strict=True)
    },
    "tier_coefficient_permille": {
        "new_graduate": 1000,
        "talent": 1200,
        "outstanding_migrant": 1000,
        "frontline_worker": 900,
    },
    "term_months": 12,
}


def facts(**overrides) -> rules.SubsidyFacts:
    values = {
        "id_number": make_id_number("19900101"),
        "category": "talent",
        "household_size": 3,
        "monthly_rent_fen": 180000,
        "has_residence_permit": True,
        "owns_home_in_cixi": False,
        "employed_in_cixi": None,
    }
    values.update(overrides)
    return rules.SubsidyFacts(**values)


@pytest.mark.parametrize(
    ("overrides", "reasons"),
    [
        ({}, []),
        ({"id_number": make_id_number("20080602")}, [rules.UNDER_MIN_AGE]),
        ({"id_number": make_id_number("20070601")}, []),  # 18 on the day
        ({"has_residence_permit": False}, [rules.NO_RESIDENCE_PERMIT]),
        ({"owns_home_in_cixi": True}, [rules.OWNS_HOME_IN_CIXI]),
        ({"employed_in_cixi": False}, [rules.NOT_EMPLOYED_IN_CIXI]),
        ({"employed_in_cixi": True}, []),
        (
            {"id_number": make_id_number("20100101"), "has_residence_permit": False, "owns_home_in_cixi": True},
            [rules.UNDER_MIN_AGE, rules.NO_RESIDENCE_PERMIT, rules.OWNS_HOME_IN_CIXI],
        ),
    ],
)
def test_subsidy_eligibility(overrides, reasons):
    assert rules.subsidy_eligibility(facts(**overrides), POLICY, TODAY) == reasons


def test_category_outside_the_policy_version():
    older = {**POLICY, "eligible_categories": ["new_graduate", "talent", "outstanding_migrant"]}
    assert rules.subsidy_eligibility(facts(category="frontline_worker"), older, TODAY) == [rules.CATEGORY_NOT_COVERED]


@pytest.mark.parametrize(
    ("switch", "overrides"),
    [
        ("require_residence_permit", {"has_residence_permit": False}),
        ("require_no_home_in_cixi", {"owns_home_in_cixi": True}),
        ("require_employment_in_cixi", {"employed_in_cixi": False}),
        ("min_age", {"id_number": make_id_number("20100101")}),
    ],
)
def test_each_rule_can_be_switched_off(switch, overrides):
    policy = {key: value for key, value in POLICY.items() if key != switch}
    assert rules.subsidy_eligibility(facts(**overrides), policy, TODAY) == []


@pytest.mark.parametrize(
    ("category", "size", "rent_fen", "expected"),
    [
        ("talent", 3, 180000, 1500 * 35 * 12 // 10),  # 63,000
        ("new_graduate", 1, 180000, 1500 * 15),  # 22,500
        ("frontline_worker", 2, 180000, 1500 * 25 * 9 // 10),  # 33,750
        ("talent", 10, 180000, 1500 * 50 * 12 // 10),
        ("talent", 3, 50000, 50000),  # capped at the actual rent
    ],
)
def test_monthly_subsidy_fen(category, size, rent_fen, expected):
    amount = rules.monthly_subsidy_fen(category, size, rent_fen, POLICY)
    assert amount == expected and isinstance(amount, int)


def test_amount_rounds_down_to_the_fen():
    policy = {**POLICY, "standard_fen_per_m2": 1333, "tier_coefficient_permille": {"talent": 1001}}
    assert rules.monthly_subsidy_fen("talent", 1, 10**7, policy) == 1333 * 15 * 1001 // 1000


def test_periods():
    assert rules.shift_period("2025-12", 1) == "2026-01"
    assert rules.shift_period("2025-01", 11) == "2025-12"
    assert rules.shift_period("2025-01", -1) == "2024-12"
    assert rules.period_of(date(2025, 3, 31)) == "2025-03"
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2024, 2, 29), 36) == date(2027, 2, 28)


TENANCY_POLICY = {
    "min_age": 18,
    "require_no_home_in_cixi": True,
    "require_employment_in_cixi": True,
    "require_residence_permit_unless_local": True,
    "rent_cap_permille": 900,
}


@pytest.mark.parametrize(
    ("overrides", "reasons"),
    [
        ({}, []),
        ({"has_residence_permit": False}, [rules.NO_RESIDENCE_PERMIT]),
        ({"has_residence_permit": False, "is_local_hukou": True}, []),
        ({"owns_home_in_cixi": True}, [rules.OWNS_HOME_IN_CIXI]),
        ({"employed_in_cixi": False}, [rules.NOT_EMPLOYED_IN_CIXI]),
        (
            {"id_number": make_id_number("20100101"), "employed_in_cixi": False},
            [rules.UNDER_MIN_AGE, rules.NOT_EMPLOYED_IN_CIXI],
        ),
    ],
)
def test_tenancy_eligibility(overrides, reasons):
    values = {
        "id_number": make_id_number("19950505"),
        "is_local_hukou": False,
        "has_residence_permit": True,
        "owns_home_in_cixi": False,
        "employed_in_cixi": True,
    }
    values.update(overrides)
    assert rules.tenancy_eligibility(rules.TenancyFacts(**values), TENANCY_POLICY, TODAY) == reasons


def test_every_rule_answers_a_rule_result_whose_failure_code_is_an_eligibility_reason():
    """The codes are what events carry and notify words for the resident: each one is in the contract."""
    from shared.cixi.contracts.housing import ELIGIBILITY_REASONS

    minor = make_id_number("20100101")
    refused = facts(id_number=minor, category="none", household_size=11, has_residence_permit=False,
                    owns_home_in_cixi=True, employed_in_cixi=False)  # fmt: skip
    checks = rules.subsidy_checks(refused, POLICY, TODAY)
    assert [check.rule for check in checks] == rules.subsidy_eligibility(refused, POLICY, TODAY)
    tenant = rules.TenancyFacts(minor, False, False, True, False)
    checks += rules.tenancy_checks(tenant, TENANCY_POLICY, TODAY)
    assert all(not check.passed and check.reason and check.detail for check in checks)
    assert {check.rule for check in checks} == set(ELIGIBILITY_REASONS)
    assert all(check.passed for check in rules.subsidy_checks(facts(), POLICY, TODAY))


@pytest.mark.parametrize(("rent", "ok"), [(90000, True), (90001, False), (1, True)])
def test_rent_cap(rent, ok):
    assert rules.rent_within_cap(rent, 100000, TENANCY_POLICY) is ok


OPERATOR_POLICY = {
    "basis": "per_unit",
    "per_unit_fen": 57450,
    "min_occupancy_permille": 800,
    "require_rent_cap": True,
    "cap_per_project_fen": 5_000_000,
}


@pytest.mark.parametrize(
    ("project", "policy", "expected"),
    [
        (rules.ProjectYear(50, 45, Decimal("2500"), 0), OPERATOR_POLICY, (50 * 57450, [])),
        (rules.ProjectYear(50, 39, Decimal("2500"), 0), OPERATOR_POLICY, (0, [rules.LOW_OCCUPANCY])),
        (rules.ProjectYear(50, 50, Decimal("2500"), 1), OPERATOR_POLICY, (0, [rules.RENT_CAP_BREACHED])),
        (
            rules.ProjectYear(50, 10, Decimal("2500"), 2),
            OPERATOR_POLICY,
            (0, [rules.LOW_OCCUPANCY, rules.RENT_CAP_BREACHED]),
        ),
        (rules.ProjectYear(500, 500, Decimal("2500"), 0), OPERATOR_POLICY, (5_000_000, [])),  # per-project cap
        (rules.ProjectYear(0, 0, Decimal("0"), 0), OPERATOR_POLICY, (0, [rules.NO_UNITS])),
        (
            rules.ProjectYear(10, 10, Decimal("450.50"), 0),
            {"basis": "per_m2", "per_m2_fen": 333},
            (int(Decimal("450.50") * 333), []),
        ),
    ],
)
def test_operator_subsidy(project, policy, expected):
    assert rules.operator_subsidy(project, policy) == expected


ALL_STATES = list(TRANSITIONS)


@pytest.mark.parametrize("source", ALL_STATES)
@pytest.mark.parametrize("target", ALL_STATES)
def test_state_machine_refuses_every_illegal_transition(source, target):
    application = SubsidyApplication(id="a-1", status=source)
    if target in TRANSITIONS[source]:
        transition(application, target)
        assert application.status == target
    else:
        with pytest.raises(InvalidTransition):
            transition(application, target)
        assert application.status == source
