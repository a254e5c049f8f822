"""Statutory retirement age by birth month and category, from the policy book (docs/policy.md).

The 2024 reform raises the old age by one month per cohort of `step_every_months` birth months, starting
with those who would have retired in the reform's first month, until the target age is reached.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.insurance.policy import PolicyBook
from shared.platform.dates import add_months

CATEGORIES = ("male", "female_worker", "female_cadre")
FEMALE_CATEGORIES = ("female_worker", "female_cadre")
# a woman whose post the caseworker did not record is judged on the later age, so that no one is refused a
# working-age route for a fact the platform lacks [assumed, docs/policy.md]
FEMALE_DEFAULT = "female_cadre"


@dataclass(frozen=True)
class Retirement:
    category: str
    age_months: int  # statutory age, in months
    on: date  # the day that age is reached: no longer of working age from this day
    policy_ref: str

    @property
    def age_text(self) -> str:
        years, months = divmod(self.age_months, 12)
        return f"{years}y{months}m" if months else f"{years}y"


def category_of(sex: str, recorded: str | None) -> str:
    if sex == "male":
        return "male"
    return recorded if recorded in FEMALE_CATEGORIES else FEMALE_DEFAULT


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def retirement(birth: date, category: str, book: PolicyBook, year: int) -> Retirement:
    base = book.figure(f"retirement.{category}.base_age_years", year)
    target = book.integer(f"retirement.{category}.target_age_years", year)
    step = book.integer(f"retirement.{category}.step_every_months", year)
    reform = book.figure("retirement.reform_start_yyyymm", year)
    reform_month = reform.as_int // 100 * 12 + reform.as_int % 100 - 1
    # the first cohort raised: those whose old retirement month is the reform's first month
    cohort = _month_index(birth) - (reform_month - base.as_int * 12)
    raised = 0 if cohort < 0 else min(cohort // step + 1, (target - base.as_int) * 12)
    age_months = base.as_int * 12 + raised
    return Retirement(category, age_months, add_months(birth, age_months), f"{base.policy_ref}; {reform.policy_ref}")
