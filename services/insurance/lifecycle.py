"""The enrolment state machine and coverage periods (openIMIS-like policy lifecycle).

    pending ──activate──► active ──suspend──► suspended ──resume──► active
       │                    │ ╲──lapse (coverage ran out)──► lapsed ──renew──► active
       └──reject──► rejected │ ╲──renew (next period)──► active
                   │         └──end──► ended   (also from suspended and lapsed)
                   └──reinstate (an upheld appeal)──► active

`ended` is final; `rejected` is final but for an upheld appeal, which activates as `activate` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from services.insurance.exceptions import InvalidTransition
from shared.dates import add_months

STATUSES = ("pending", "active", "suspended", "lapsed", "ended", "rejected")
FINAL = frozenset({"ended", "rejected"})


@dataclass(frozen=True)
class Step:
    sources: frozenset[str]
    target: str
    event: str


STEPS: dict[str, Step] = {
    "activate": Step(frozenset({"pending"}), "active", "enrolment_activated"),
    "reject": Step(frozenset({"pending"}), "rejected", "enrolment_rejected"),
    "reinstate": Step(frozenset({"rejected"}), "active", "enrolment_activated"),
    "suspend": Step(frozenset({"active"}), "suspended", "enrolment_suspended"),
    "resume": Step(frozenset({"suspended"}), "active", "enrolment_resumed"),
    "lapse": Step(frozenset({"active"}), "lapsed", "enrolment_lapsed"),
    "renew": Step(frozenset({"active", "lapsed"}), "active", "enrolment_renewed"),
    "end": Step(frozenset({"active", "suspended", "lapsed"}), "ended", "enrolment_ended"),
}


def step(action: str, current: str) -> Step:
    """The step for `action` from `current`, or InvalidTransition naming what is allowed."""
    found = STEPS[action]
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


def renewal_start(current_end: date, status: str, today: date) -> date:
    """An active enrolment renews seamlessly; a lapsed one restarts today (the gap stays uncovered)."""
    return current_end + timedelta(days=1) if status == "active" else max(today, current_end + timedelta(days=1))
