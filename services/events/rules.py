"""Pure rules: local dates, who may attend (age from the ID number), and how a family party is made up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared.platform.clock import local_date
from shared.platform.personal_data import age_on, normalise_id_number


def activity_days(starts_at: datetime, ends_at: datetime) -> list[date]:
    first, last = local_date(starts_at), local_date(ends_at)
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


@dataclass(frozen=True)
class Member:
    """One seat of a party; `field` names the input it came from, for error messages."""

    field: str
    id_number: str
    is_child: bool
    age: int


@dataclass(frozen=True)
class Audience:
    min_age: int | None
    max_age: int | None
    on: date  # ages are taken on the activity's first local day


def build_party(
    id_number: str,
    children: list[str],
    registrant_attends: bool,
    audience: Audience,
    child_max_age: int,
    max_party_size: int,
) -> tuple[list[Member], dict[str, list[str]]]:
    """The members that take seats, and the eligibility problems found (empty when all may attend).

    Children must be minors on the activity day and the registrant of a family must be an adult; every
    attending member must be within the activity's age range. Input shape was validated before.
    """
    problems: dict[str, list[str]] = {}
    registrant = normalise_id_number(id_number)
    registrant_age = _age(registrant, audience.on)
    members: list[Member] = []
    if registrant_attends:
        members.append(Member("id_number", registrant, registrant_age <= child_max_age, registrant_age))
    if children and registrant_age <= child_max_age:
        problems["id_number"] = [f"a registrant with children must be an adult (age {registrant_age})"]
    for index, raw in enumerate(children):
        number = normalise_id_number(raw)
        age = _age(number, audience.on)
        name = f"children.{index}"
        if age > child_max_age:
            problems[name] = [f"age {age} on {audience.on.isoformat()} is not a child's age"]
        members.append(Member(name, number, True, age))
    for member in members:
        if audience.min_age is not None and member.age < audience.min_age:
            problems.setdefault(member.field, []).append(f"age {member.age} is below the minimum {audience.min_age}")
        if audience.max_age is not None and member.age > audience.max_age:
            problems.setdefault(member.field, []).append(f"age {member.age} is above the maximum {audience.max_age}")
    if len(members) > max_party_size:
        problems.setdefault("children", []).append(f"a party takes at most {max_party_size} seats")
    return members, problems


def _age(id_number: str, on: date) -> int:
    try:
        return age_on(id_number, on)
    except ValueError:
        return 0  # born after the activity day: counts as age 0, which any minimum age refuses


def waitlist_order(priority: int, queue_seq: int) -> tuple:
    """Higher priority first, then arrival order (a per-activity sequence taken under the activity lock)."""
    return (-priority, queue_seq)


def hold_expiry(now: datetime, hold_minutes: int, starts_at: datetime) -> datetime:
    """An offered seat is held for the policy time, but never past the activity's start."""
    return min(now + timedelta(minutes=hold_minutes), starts_at)
