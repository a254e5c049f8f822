"""Events' operational policy: how long an offered seat is held, how early reminders go and check-in opens,
how large a family party may be and who counts as a child. Each setting is a row of the shared policy store
(shared/platform/policy_store.py) in `policy_values`, named as the field here, changed by a migration adding a row
with a later `effective_from`. An activity's own limits (capacity, age range) are its data, not policy.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

from sqlalchemy.orm import Session

from services.events.models import PolicyValue
from shared.platform.policy_store import PolicyStore

STORE = PolicyStore(PolicyValue)


@dataclass(frozen=True)
class EventsPolicy:
    hold_minutes: int
    reminder_lead_hours: int
    max_party_size: int
    check_in_opens_minutes: int
    child_max_age: int


def policy_in_force(session: Session, on: date) -> EventsPolicy:
    return EventsPolicy(**{field.name: STORE.in_force(session, field.name, on).value for field in fields(EventsPolicy)})
