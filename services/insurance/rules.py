"""Eligibility rules per route, contribution calculations and the late-registration flag.

Pure functions over plain facts and a `PolicyBook`: no database, no nameko. Every route answers with
the full list of rules it evaluated, passed or failed, each with a reason a caseworker can read out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from services.insurance.exceptions import BeforeSchemeStart
from services.insurance.policy import PolicyBook
from services.insurance.retirement import category_of, retirement
from shared.platform.dates import add_months
from shared.platform.rule_results import RuleResult

SCHEMES = ("pension", "medical", "elderly_care")
ROUTES: dict[str, tuple[str, ...]] = {
    "pension": ("employee", "flexible"),
    "medical": ("employee_points", "resident", "newborn", "preschool"),
    "elderly_care": ("subsidy",),
}
SELF_PAID_ALTERNATIVE = "self-paid service available"
SELF_PAID_ALTERNATIVE_ZH = "可在本市养老服务机构自费享受服务"


# --- facts -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Permit:
    """A Zhejiang residence permit (居住证); `issued_in_cixi` makes it the local (本市) permit."""

    issued_in_cixi: bool
    valid_until: date


@dataclass(frozen=True)
class PersonFacts:
    birth_date: date
    sex: str  # "male" | "female", from the ID number
    hukou: str  # "cixi" | "other"
    permit: Permit | None = None

    @property
    def local_hukou(self) -> bool:
        return self.hukou == "cixi"

    def age_years(self, on: date) -> int:
        before_birthday = (on.month, on.day) < (self.birth_date.month, self.birth_date.day)
        return on.year - self.birth_date.year - before_birthday

    def age_days(self, on: date) -> int:
        return (on - self.birth_date).days

    def permit_valid(self, on: date, cixi_only: bool) -> bool:
        permit = self.permit
        return permit is not None and permit.valid_until >= on and (permit.issued_in_cixi or not cixi_only)


@dataclass(frozen=True)
class EmploymentFacts:
    kind: str  # "employee" | "flexible"
    town: str
    start_date: date
    late: bool
    retirement_category: str | None = None  # a woman's post (female_worker | female_cadre), as recorded


@dataclass(frozen=True)
class RecordedCover:
    """A parent's Cixi basic medical insurance this service does not hold (employer-paid 职工医保, say), as the
    caseworker recorded it from the parent's evidence."""

    scheme: str  # "employee" | "employee_points" | "resident"
    insured_since: date
    benefits_normal: bool  # 待遇正常


@dataclass(frozen=True)
class ParentFacts:
    person: PersonFacts
    medical_status: str | None  # status of the parent's medical enrolment here, None if none
    contribution_months: int | None  # cumulative employee-insurance months, as evidenced
    recorded_cover: RecordedCover | None = None


@dataclass(frozen=True)
class Facts:
    person: PersonFacts
    employment: EmploymentFacts | None = None
    parent: ParentFacts | None = None
    birth_certificate: bool = False


# --- results -----------------------------------------------------------------------------------------


@dataclass
class RouteAnswer:
    scheme: str
    route: str
    rules: list[RuleResult] = field(default_factory=list)
    alternatives: list[str] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return all(rule.passed for rule in self.rules)

    @property
    def failed(self) -> list[RuleResult]:
        return [rule for rule in self.rules if not rule.passed]

    @property
    def answer(self) -> str:
        if self.eligible:
            return "eligible"
        return "; ".join(["not eligible: " + "; ".join(r.reason for r in self.failed), *self.alternatives])

    def to_dict(self) -> dict:
        return {
            "scheme": self.scheme,
            "route": self.route,
            "eligible": self.eligible,
            "answer": self.answer,
            "alternatives": list(self.alternatives),
            "rules": [rule.to_dict() for rule in self.rules],
        }


Rule = Callable[[Facts, PolicyBook, date], RuleResult]


# --- rules -------------------------------------------------------------------------------------------


def working_age(facts: Facts, book: PolicyBook, on: date) -> RuleResult:
    low = book.figure("working_age.min_years", on.year)
    person = facts.person
    recorded = facts.employment.retirement_category if facts.employment else None
    retires = retirement(person.birth_date, category_of(person.sex, recorded), book, on.year)
    age = person.age_years(on)
    passed = age >= low.as_int and on < retires.on
    assumed = "" if person.sex == "male" or recorded else " (post not recorded: the later age is applied)"
    return RuleResult(
        "working_age",
        passed,
        "of working age" if passed else "outside working age",
        f"aged {age} on {on.isoformat()}; working age is from {low.as_int} until retirement at "
        f"{retires.age_text} on {retires.on} as {retires.category}{assumed}",
        retires.policy_ref,
    )


def _registration(kind: str) -> Rule:
    label = {"employee": "employment registration", "flexible": "flexible-employment registration"}[kind]

    def registered(facts: Facts, book: PolicyBook, on: date) -> RuleResult:
        employment = facts.employment
        passed = employment is not None and employment.kind == kind
        if employment is None:
            detail = "no employment registration in Cixi"
        else:
            detail = f"registered in Cixi as {employment.kind} ({employment.town}) from {employment.start_date}"
        return RuleResult(
            f"{kind}_registration",
            passed,
            f"{label} in Cixi" if passed else f"{label} in Cixi required",
            detail,
            "Zhejiang HRSS notice on flexible workers joining pension insurance where employed (from 2021-12)",
        )

    return registered


def pension_hukou_not_required(facts: Facts, book: PolicyBook, on: date) -> RuleResult:
    return RuleResult(
        "hukou_not_required",
        True,
        "no hukou requirement",
        f"hukou: {facts.person.hukou}; the hukou restriction was lifted from 2021-12",
        "Zhejiang HRSS notice on flexible workers joining pension insurance where employed (from 2021-12)",
    )


def non_local_hukou(facts: Facts, book: PolicyBook, on: date) -> RuleResult:
    passed = not facts.person.local_hukou
    return RuleResult(
        "non_local_hukou",
        passed,
        "non-local hukou" if passed else "route is for non-local workers (local hukou joins employee insurance)",
        f"hukou: {facts.person.hukou}",
        "Cixi 2025 reply §2: points-based medical insurance for non-local flexible workers",
    )


def cixi_residence(facts: Facts, book: PolicyBook, on: date) -> RuleResult:
    person = facts.person
    if person.local_hukou:
        return RuleResult("cixi_residence", True, "Cixi hukou", "hukou: cixi", None)
    passed = person.permit_valid(on, cixi_only=True)
    return RuleResult(
        "cixi_residence",
        passed,
        "valid Cixi residence permit" if passed else "valid Cixi residence permit required",
        _permit_detail(person, on),
        "Cixi 2025 reply §2: resident medical insurance with a valid residence permit",
    )


def _permit_detail(person: PersonFacts, on: date) -> str:
    permit = person.permit
    if permit is None:
        return "no residence permit given"
    where = "Cixi" if permit.issued_in_cixi else "elsewhere in Zhejiang"
    state = "valid" if permit.valid_until >= on else "expired"
    return f"permit issued {where}, valid until {permit.valid_until} ({state} on {on})"


def newborn_last_day(birth: date, book: PolicyBook, on: date) -> date:
    """The last day of the newborn window: the day the child is `medical.newborn_max_age_months` calendar
    months old (born 1 Jul 2025: 1 Jan 2026; born 31 Jan: 31 Jul; born 31 Aug: 28/29 Feb)."""
    return add_months(birth, book.integer("medical.newborn_max_age_months", on.year))


def newborn_age(facts: Facts, book: PolicyBook, on: date) -> RuleResult:
    limit = book.figure("medical.newborn_max_age_months", on.year)
    birth, last_day = facts.person.birth_date, newborn_last_day(facts.person.birth_date, book, on)
    passed = birth <= on <= last_day
    return RuleResult(
        "newborn_age",
        passed,
        f"aged 0–{limit.as_int} months" if passed else f"older than {limit.as_int} months",
        f"born {birth}; the newborn route runs to {last_day} (the day the child is {limit.as_int} months old)",
        limit.policy_ref,
    )


def birth_certificate(facts: Facts, book: PolicyBook, on: date) -> RuleResult:
    passed = facts.birth_certificate
    return RuleResult(
        "birth_certificate",
        passed,
        "birth certificate given" if passed else "birth certificate (出生医学证明) number required",
        "birth certificate number " + ("recorded" if passed else "missing"),
        "Cixi 2025 reply §2",
    )


def _parent_missing(rule: str) -> RuleResult:
    return RuleResult(rule, False, "parent's details required", "no parent given", None)


def parent_insured(facts: Facts, book: PolicyBook, on: date) -> RuleResult:
    """Insured in Cixi with benefits in normal state: an active enrolment held here, or cover held elsewhere in
    Cixi's basic medical insurance that the caseworker recorded."""
    if facts.parent is None:
        return _parent_missing("parent_insured")
    status, cover = facts.parent.medical_status, facts.parent.recorded_cover
    if status == "active":
        passed, detail = True, "parent's medical enrolment here: active"
    elif cover is not None:
        passed = cover.benefits_normal and cover.insured_since <= on
        state = "benefits normal" if cover.benefits_normal else "benefits not normal"
        detail = f"parent's {cover.scheme} cover recorded by the caseworker: since {cover.insured_since}, {state}"
    else:
        passed, detail = False, f"parent's medical enrolment here: {status or 'none'}; no other cover recorded"
    return RuleResult(
        "parent_insured",
        passed,
        "parent insured in Cixi with normal status"
        if passed
        else "a parent insured in Cixi with normal status required",
        detail,
        "Cixi 2025 reply §2: newborn 0–6 months, one parent in basic medical insurance with normal benefits",
    )


def parent_contribution_months(facts: Facts, book: PolicyBook, on: date) -> RuleResult:
    switch = book.figure("medical.newborn_parent_contribution_check", on.year)
    if not switch.as_int:
        return RuleResult("parent_contribution_months", True, "not required", "the setting is off", switch.policy_ref)
    minimum = book.figure("medical.newborn_parent_min_contribution_months", on.year)
    if facts.parent is None:
        return _parent_missing("parent_contribution_months")
    months = facts.parent.contribution_months or 0
    passed = months >= minimum.as_int
    return RuleResult(
        "parent_contribution_months",
        passed,
        "parent's contribution months sufficient"
        if passed
        else f"parent needs ≥ {minimum.as_int} months of employee-insurance contributions",
        f"parent has {months} cumulative months; at least {minimum.as_int} required",
        minimum.policy_ref,
    )


def parent_cixi_permit(facts: Facts, book: PolicyBook, on: date) -> RuleResult:
    if facts.parent is None:
        return _parent_missing("parent_cixi_permit")
    parent = facts.parent.person
    if parent.local_hukou:
        return RuleResult("parent_cixi_permit", True, "parent has Cixi hukou", "parent's hukou: cixi", None)
    passed = parent.permit_valid(on, cixi_only=True)
    return RuleResult(
        "parent_cixi_permit",
        passed,
        "parent's valid Cixi residence permit" if passed else "parent's valid Cixi residence permit required",
        "parent's " + _permit_detail(parent, on),
        "Cixi 2025 reply §2",
    )


def school_start(birth: date, book: PolicyBook, on: date) -> date:
    """The day primary school starts for a child born on `birth`: the day after the cutoff (31 August) of the
    first year by whose cutoff the child is `medical.school_entry_age_years` old."""
    age = book.integer("medical.school_entry_age_years", on.year)
    cutoff = book.integer("medical.school_entry_cutoff_mmdd", on.year)
    year = birth.year + age + ((birth.month * 100 + birth.day) > cutoff)
    return date(year, cutoff // 100, cutoff % 100) + timedelta(days=1)


def past_newborn_age(facts: Facts, book: PolicyBook, on: date) -> RuleResult:
    """The preschool route starts where the newborn route ends: the two never overlap."""
    last_day = newborn_last_day(facts.person.birth_date, book, on)
    passed = on > last_day
    return RuleResult(
        "past_newborn_age",
        passed,
        "past the newborn window" if passed else "within the newborn window: the newborn route applies",
        f"born {facts.person.birth_date}; the newborn route runs to {last_day}",
        book.figure("medical.newborn_max_age_months", on.year).policy_ref,
    )


def preschool_age(facts: Facts, book: PolicyBook, on: date) -> RuleResult:
    starts = school_start(facts.person.birth_date, book, on)
    passed = on < starts
    return RuleResult(
        "preschool_age",
        passed,
        "preschool age" if passed else "of school age",
        f"born {facts.person.birth_date}; primary school starts {starts}",
        book.figure("medical.school_entry_cutoff_mmdd", on.year).policy_ref,
    )


def elderly_age(facts: Facts, book: PolicyBook, on: date) -> RuleResult:
    minimum = book.figure("elderly.min_age_years", on.year)
    age = facts.person.age_years(on)
    passed = age >= minimum.as_int
    return RuleResult(
        "elderly_age",
        passed,
        f"aged {minimum.as_int} or over" if passed else f"aged under {minimum.as_int}",
        f"aged {age} on {on}; subsidies start at {minimum.as_int}",
        minimum.policy_ref,
    )


def cixi_hukou(facts: Facts, book: PolicyBook, on: date) -> RuleResult:
    passed = facts.person.local_hukou
    return RuleResult(
        "cixi_hukou",
        passed,
        "Cixi hukou" if passed else "hukou required",
        f"hukou: {facts.person.hukou}; elderly-care subsidies are for Cixi hukou holders",
        "Cixi 2025 reply §2: 养老服务补贴、养老护理补贴 for Cixi hukou holders aged 60+",
    )


ROUTE_RULES: dict[tuple[str, str], tuple[Rule, ...]] = {
    ("pension", "employee"): (working_age, _registration("employee"), pension_hukou_not_required),
    ("pension", "flexible"): (working_age, _registration("flexible"), pension_hukou_not_required),
    ("medical", "employee_points"): (non_local_hukou, working_age, _registration("flexible")),
    ("medical", "resident"): (cixi_residence,),
    ("medical", "newborn"): (
        newborn_age,
        birth_certificate,
        parent_insured,
        parent_contribution_months,
        parent_cixi_permit,
    ),
    ("medical", "preschool"): (past_newborn_age, preschool_age, parent_cixi_permit),
    ("elderly_care", "subsidy"): (elderly_age, cixi_hukou),
}


def scheme_start(scheme: str, book: PolicyBook) -> date:
    """The first day the policy book covers `scheme`: the question's year cannot pick the row, since before
    the start there is no year in force to ask."""
    figure = book.first(f"scheme.{scheme}.starts_yyyymmdd")
    value = figure.as_int
    return date(value // 10000, value // 100 % 100, value % 100)


def require_in_force(scheme: str, book: PolicyBook, on: date) -> None:
    starts = scheme_start(scheme, book)
    if on < starts:
        raise BeforeSchemeStart(
            f"{scheme} in Cixi begins on {starts.isoformat()} in the policy book; {on.isoformat()} is before it",
            starts.isoformat(),
        )


def evaluate(scheme: str, route: str, facts: Facts, book: PolicyBook, on: date) -> RouteAnswer:
    require_in_force(scheme, book, on)
    answer = RouteAnswer(scheme, route, [rule(facts, book, on) for rule in ROUTE_RULES[(scheme, route)]])
    if scheme == "elderly_care" and not answer.eligible:
        # never a bare no: institutions take anyone at their own expense
        answer.alternatives.append(SELF_PAID_ALTERNATIVE)
    return answer


# --- contributions -----------------------------------------------------------------------------------


def _share(amount_fen: int, percent: Decimal) -> int:
    return int((Decimal(amount_fen) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class BaseRange:
    year: int
    average_wage_fen: int
    min_pct: Decimal
    max_pct: Decimal
    min_fen: int
    max_fen: int

    def message(self) -> str:
        return (
            f"must be between {self.min_fen} and {self.max_fen} fen "
            f"({_yuan(self.min_fen)}–{_yuan(self.max_fen)} yuan a month: {self.min_pct:f} %–{self.max_pct:f} % "
            f"of the average wage {_yuan(self.average_wage_fen)} yuan used in {self.year})"
        )


def _yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:,.2f}"


def base_range(book: PolicyBook, year: int) -> BaseRange:
    wage = book.integer("pension.average_wage_monthly_fen", year)
    low, high = book.value("pension.base_min_pct", year), book.value("pension.base_max_pct", year)
    return BaseRange(year, wage, low.normalize(), high.normalize(), _share(wage, low), _share(wage, high))


@dataclass(frozen=True)
class Contribution:
    base_fen: int | None = None
    monthly_fen: int | None = None  # what the person pays each month
    personal_account_fen: int | None = None
    employer_fen: int | None = None
    yearly_fen: int | None = None
    policy_refs: tuple[str, ...] = ()


def pension_contribution(book: PolicyBook, year: int, route: str, base_fen: int) -> Contribution:
    """Contribution on a base already checked against `base_range`."""
    names = ["pension.average_wage_monthly_fen", "pension.base_min_pct", "pension.base_max_pct"]
    personal = book.value("pension.personal_account_pct", year)
    if route == "flexible":
        # a flexible worker pays the whole rate; part of it goes to the personal account
        rate = book.value("pension.flexible_rate_pct", year)
        paid, employer = _share(base_fen, rate), None
        names += ["pension.flexible_rate_pct", "pension.personal_account_pct"]
    else:
        paid = _share(base_fen, book.value("pension.employee_rate_pct", year))
        employer = _share(base_fen, book.value("pension.employer_rate_pct", year))
        names += ["pension.employee_rate_pct", "pension.employer_rate_pct", "pension.personal_account_pct"]
    return Contribution(
        base_fen=base_fen,
        monthly_fen=paid,
        personal_account_fen=_share(base_fen, personal),
        employer_fen=employer,
        policy_refs=tuple(book.figure(name, year).cite() for name in names),
    )


def medical_contribution(book: PolicyBook, year: int, route: str, person: PersonFacts, on: date) -> Contribution:
    """The yearly personal contribution: one table for everyone, hukou holders or not (seed §2)."""
    if route == "employee_points":
        name = "medical.employee_points_yearly_fen"
    elif route == "resident" and person.age_years(on) >= 18:
        name = "medical.resident_adult_yearly_fen"
    else:
        name = "medical.resident_minor_yearly_fen"
    figure = book.figure(name, year)
    return Contribution(yearly_fen=figure.as_int, policy_refs=(figure.cite(),))


# --- employment registration -------------------------------------------------------------------------


@dataclass(frozen=True)
class Lateness:
    days_after_start: int
    deadline_days: int
    late: bool
    policy_ref: str


def registration_lateness(book: PolicyBook, start_date: date, registered_on: date) -> Lateness:
    deadline = book.figure("employment.registration_deadline_days", registered_on.year)
    days = (registered_on - start_date).days
    return Lateness(days, deadline.as_int, days > deadline.as_int, deadline.policy_ref)


def employment_rules(person: PersonFacts, book: PolicyBook, on: date) -> list[RuleResult]:
    """What registration needs: a legal working age, and a valid Zhejiang permit for non-hukou workers."""
    minimum = book.figure("employment.min_age_years", on.year)
    age = person.age_years(on)
    results = [
        RuleResult(
            "minimum_age",
            age >= minimum.as_int,
            f"aged {minimum.as_int} or over"
            if age >= minimum.as_int
            else f"under the legal working age of {minimum.as_int}",
            f"aged {age} on {on}",
            minimum.policy_ref,
        )
    ]
    if person.local_hukou:
        results.append(RuleResult("zhejiang_permit", True, "Cixi hukou", "hukou: cixi", None))
    else:
        passed = person.permit_valid(on, cixi_only=False)
        results.append(
            RuleResult(
                "zhejiang_permit",
                passed,
                "valid Zhejiang residence permit" if passed else "valid Zhejiang residence permit required",
                _permit_detail(person, on),
                "Zhejiang HRSS: employment registration of non-hukou workers needs a residence permit",
            )
        )
    return results
