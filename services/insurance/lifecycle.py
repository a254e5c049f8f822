"""The enrolment state machine and coverage periods (openIMIS-like policy lifecycle).

    pending ──activate──► active ──suspend──► suspended ──resume──► active
       │                    │ ╲──lapse (coverage ran out)──► lapsed ──renew──► active      (medical only)
       └──reject──► rejected │ ╲──renew (next period)──► active                            (medical only)
                   │         └──end──► ended   (also from suspended and lapsed)
                   └──reinstate (an upheld appeal)──► active

`ended` is final; `rejected` is final but for an upheld appeal, which activates as `activate` does.

Medical insurance runs in yearly periods, renewed or lapsed. Enterprise pension is continuous: it has no
period end, is never renewed or lapsed, and runs while contributions are paid (suspended on arrears) until it
ends on retirement or transfer out (docs/policy.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from services.insurance.exceptions import InvalidTransition
from shared.platform.dates import add_months

STATUSES = ("pending", "active", "suspended", "lapsed", "ended", "rejected")
FINAL = frozenset({"ended", "rejected"})
PERIODIC = frozenset({"medical"})  # the schemes renewed period by period; pension is continuous
ALL_SCHEMES = frozenset({"pension", "medical"})


@dataclass(frozen=True)
class Step:
    sources: frozenset[str]
    target: str
    event: str
    schemes: frozenset[str] = ALL_SCHEMES


STEPS: dict[str, Step] = {
    "activate": Step(frozenset({"pending"}), "active", "enrolment_activated"),
    "reject": Step(frozenset({"pending"}), "rejected", "enrolment_rejected"),
    "reinstate": Step(frozenset({"rejected"}), "active", "enrolment_activated"),
    "suspend": Step(frozenset({"active"}), "suspended", "enrolment_suspended"),
    "resume": Step(frozenset({"suspended"}), "active", "enrolment_resumed"),
    "lapse": Step(frozenset({"active"}), "lapsed", "enrolment_lapsed", PERIODIC),
    "renew": Step(frozenset({"active", "lapsed"}), "active", "enrolment_renewed", PERIODIC),
    "end": Step(frozenset({"active", "suspended", "lapsed"}), "ended", "enrolment_ended"),
}


def step(action: str, current: str, scheme: str | None = None) -> Step:
    """The step for `action` from `current` (in `scheme`, when given), or InvalidTransition naming what is
    allowed."""
    found = STEPS[action]
    if scheme is not None and scheme not in found.schemes:
        raise InvalidTransition(f"cannot {action} a {scheme} enrolment: it is continuous, with no period to {action}")
    if current not in found.sources:
        allowed = ", ".join(sorted(found.sources))
        raise InvalidTransition(f"cannot {action} an enrolment that is {current} (only from: {allowed})")
    return found


def coverage_period(start: date, months: int) -> tuple[date, date]:
    """[start, end] inclusive: `months` calendar months from `start`. The period ends the day before the
    same day of the month; when that month is too short for the day, on its last day (Jan 31 → Feb 28)."""
    anniversary = add_months(start, months)
    if anniversary.day < start.day:  # clamped: the month has no such day
        return start, anniversary
    return start, anniversary - timedelta(days=1)


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def months_due(start: date, today: date) -> list[str]:
    """The months whose contribution is due by `today`: from the month coverage started to the month before
    this one (a month's contribution may be paid until that month ends [assumed])."""
    due, month = [], date(start.year, start.month, 1)
    while month_of(month) < month_of(today):
        due.append(month_of(month))
        month = add_months(month, 1)
    return due


def renewal_start(current_end: date, status: str, today: date) -> date:
    """An active enrolment renews seamlessly; a lapsed one restarts today (the gap stays uncovered)."""
    return current_end + timedelta(days=1) if status == "active" else max(today, current_end + timedelta(days=1))
