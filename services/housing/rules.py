"""Eligibility and amount rules of the three programmes: pure functions of the facts and a policy document.

Each rule can be switched off in the policy row. A rule answers with a `RuleResult`
(shared/platform/rule_results.py) whose `rule` is the machine-readable reason code a refusal carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal

from shared.platform.dates import add_months
from shared.platform.personal_data import age_on
from shared.platform.rule_results import RuleResult, failed_codes

# reason codes (stable: callers, appeals and stats key on them)
UNDER_MIN_AGE = "under_min_age"
NO_RESIDENCE_PERMIT = "no_residence_permit"
OWNS_HOME_IN_CIXI = "owns_home_in_cixi"
NOT_EMPLOYED_IN_CIXI = "not_employed_in_cixi"
CATEGORY_NOT_COVERED = "category_not_covered"
HOUSEHOLD_SIZE_NOT_COVERED = "household_size_not_covered"


@dataclass(frozen=True)
class SubsidyFacts:
    id_number: str
    category: str
    household_size: int
    monthly_rent_fen: int
    has_residence_permit: bool
    owns_home_in_cixi: bool
    employed_in_cixi: bool | None = None  # not asked: the rule is not applied


def subsidy_checks(facts: SubsidyFacts, rules: dict, on: date) -> list[RuleResult]:
    """Every rent-subsidy rule the policy row applies, passed or failed, in the order they are checked."""
    results: list[RuleResult] = []
    if rules.get("min_age") is not None:
        results.append(_min_age(facts.id_number, rules["min_age"], on))
    if rules.get("eligible_categories") is not None:
        covered = facts.category in rules["eligible_categories"]
        detail = f"category {facts.category}"
        results.append(_rule(CATEGORY_NOT_COVERED, covered, "a covered category", "category not covered", detail))
    if rules.get("require_residence_permit"):
        results.append(_permit(facts.has_residence_permit, f"residence permit: {facts.has_residence_permit}"))
    if rules.get("require_no_home_in_cixi"):
        results.append(_no_home(facts.owns_home_in_cixi))
    if rules.get("require_employment_in_cixi"):
        results.append(_employed(facts.employed_in_cixi is not False, facts.employed_in_cixi))  # None: not asked
    sized = str(facts.household_size) in rules.get("guaranteed_area_m2", {})
    detail = f"household of {facts.household_size}"
    results.append(_rule(HOUSEHOLD_SIZE_NOT_COVERED, sized, "a covered household size", "size not covered", detail))
    return results


def subsidy_eligibility(facts: SubsidyFacts, rules: dict, on: date) -> list[str]:
    """Reason codes why the household does not qualify for the rent subsidy; empty when it does."""
    return failed_codes(subsidy_checks(facts, rules, on))


def _rule(code: str, passed: bool, met: str, unmet: str, detail: str) -> RuleResult:
    return RuleResult(code, passed, met if passed else unmet, detail)


def _min_age(id_number: str, min_age: int, on: date) -> RuleResult:
    age = age_on(id_number, on)
    return _rule(UNDER_MIN_AGE, age >= min_age, f"aged {min_age} or over", f"under {min_age}", f"aged {age} on {on}")


def _permit(passed: bool, detail: str) -> RuleResult:
    return _rule(NO_RESIDENCE_PERMIT, passed, "residence permit held", "residence permit required", detail)


def _no_home(owns_home: bool) -> RuleResult:
    detail = f"owns a home in Cixi: {owns_home}"
    return _rule(OWNS_HOME_IN_CIXI, not owns_home, "no home in Cixi", "owns a home in Cixi", detail)


def _employed(passed: bool, employed) -> RuleResult:
    detail = f"employed in Cixi: {employed}"
    return _rule(NOT_EMPLOYED_IN_CIXI, passed, "employed in Cixi", "not employed in Cixi", detail)


def monthly_subsidy_fen(category: str, household_size: int, monthly_rent_fen: int, rules: dict) -> int:
    """standard (fen/㎡/month) × guaranteed area for the household size × tier coefficient, capped at the rent.

    Rounded down to the fen; the coefficient is in per mille so the whole computation stays in integers.
    """
    standard = int(rules["standard_fen_per_m2"])
    area = Decimal(str(rules["guaranteed_area_m2"][str(household_size)]))
    coefficient = int(rules["tier_coefficient_permille"][category])
    amount = (Decimal(standard) * area * coefficient / 1000).to_integral_value(rounding=ROUND_FLOOR)
    return min(int(amount), monthly_rent_fen)


# --- 保租房 -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TenancyFacts:
    id_number: str
    is_local_hukou: bool
    has_residence_permit: bool
    owns_home_in_cixi: bool
    employed_in_cixi: bool


def tenancy_checks(facts: TenancyFacts, rules: dict, on: date) -> list[RuleResult]:
    """Every 保租房 rule the policy row applies, passed or failed, in the order they are checked."""
    results: list[RuleResult] = []
    if rules.get("min_age") is not None:
        results.append(_min_age(facts.id_number, rules["min_age"], on))
    if rules.get("require_no_home_in_cixi"):
        results.append(_no_home(facts.owns_home_in_cixi))
    if rules.get("require_employment_in_cixi"):
        results.append(_employed(bool(facts.employed_in_cixi), facts.employed_in_cixi))
    if rules.get("require_residence_permit_unless_local"):
        held = facts.is_local_hukou or facts.has_residence_permit
        detail = f"local hukou: {facts.is_local_hukou}, residence permit: {facts.has_residence_permit}"
        results.append(_permit(held, detail))
    return results


def tenancy_eligibility(facts: TenancyFacts, rules: dict, on: date) -> list[str]:
    return failed_codes(tenancy_checks(facts, rules, on))


def rent_cap_fen(market_rent_fen: int, rules: dict) -> int:
    """The highest rent a unit may be listed at: a share (per mille) of its assessed market rent, floored."""
    return market_rent_fen * int(rules["rent_cap_permille"]) // 1000


def rent_within_cap(monthly_rent_fen: int, market_rent_fen: int, rules: dict) -> bool:
    return monthly_rent_fen <= rent_cap_fen(market_rent_fen, rules)


def unit_area_within_limit(area_m2: Decimal, rules: dict) -> bool:
    """A 保租房 unit's construction area is at most `max_unit_area_m2` (no limit when the row has none)."""
    limit = rules.get("max_unit_area_m2")
    return limit is None or Decimal(area_m2) <= Decimal(str(limit))


RENT_INCREASE_INTERVAL_MONTHS = 12  # "annual": one rise per 12 months at most


@dataclass(frozen=True)
class RentIncrease:
    """Whether a tenancy's rent may go from `current_fen` to `new_fen` on `on`, and why not."""

    allowed: bool
    cap_fen: int  # the highest rent allowed on `on`
    next_rise_on: date  # the first day a rise is allowed at all
    detail: str


def rent_increase(current_fen: int, new_fen: int, rent_set_on: date, on: date, rules: dict) -> RentIncrease:
    """A rise of at most `max_annual_increase_permille` of the rent in force, and at most one per 12 months
    counted from the day that rent was set (docs/policy.md). A cut or the same rent is always allowed."""
    permille = rules.get("max_annual_increase_permille")
    next_rise = add_months(rent_set_on, RENT_INCREASE_INTERVAL_MONTHS)
    if permille is None:
        return RentIncrease(True, new_fen, next_rise, "no rent-increase limit in the policy row")
    cap = current_fen * (1000 + int(permille)) // 1000 if on >= next_rise else current_fen
    if new_fen <= current_fen or new_fen <= cap:
        return RentIncrease(True, cap, next_rise, f"rent {current_fen} → {new_fen} fen within the cap of {cap} fen")
    if on < next_rise:
        detail = f"the rent was set on {rent_set_on} and may rise again from {next_rise}"
    else:
        detail = f"rent {current_fen} → {new_fen} fen is above the cap of {cap} fen (+{int(permille) / 10:g}% a year)"
    return RentIncrease(False, cap, next_rise, detail)


# --- periods ------------------------------------------------------------------------------------------


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def shift_period(period: str, months: int) -> str:
    year, month = int(period[:4]), int(period[5:7])
    index = year * 12 + (month - 1) + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


# --- 运营奖补 -----------------------------------------------------------------------------------------

LOW_OCCUPANCY = "occupancy_below_minimum"
RENT_CAP_BREACHED = "rent_cap_breached"
NO_UNITS = "no_units"


@dataclass(frozen=True)
class ProjectYear:
    units: int
    occupied_units: int
    area_m2: Decimal
    units_over_rent_cap: int


def operator_subsidy(project: ProjectYear, rules: dict) -> tuple[int, list[str]]:
    """(amount in fen, reasons it is withheld). Basis `per_unit` or `per_m2`, then the per-project cap."""
    reasons: list[str] = []
    if project.units == 0:
        return 0, [NO_UNITS]
    minimum = rules.get("min_occupancy_permille")
    if minimum is not None and project.occupied_units * 1000 < project.units * int(minimum):
        reasons.append(LOW_OCCUPANCY)
    if rules.get("require_rent_cap") and project.units_over_rent_cap > 0:
        reasons.append(RENT_CAP_BREACHED)
    if reasons:
        return 0, reasons
    if rules["basis"] == "per_unit":
        amount = project.units * int(rules["per_unit_fen"])
    elif rules["basis"] == "per_m2":
        amount = int((project.area_m2 * int(rules["per_m2_fen"])).to_integral_value(rounding=ROUND_FLOOR))
    else:
        raise ValueError(f"unknown operator subsidy basis {rules['basis']!r}")
    cap = rules.get("cap_per_project_fen")
    return (min(amount, int(cap)) if cap is not None else amount), []
