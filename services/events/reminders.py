"""Reminders: once per activity, a policy-set number of hours before the start, one per confirmed registration."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.events import models as m
from services.events.workflow import registration_data


def activities_due(session: Session, now: datetime, lead_hours: int) -> list[str]:
    return list(
        session.scalars(
            select(m.Activity.id).where(
                m.Activity.status == m.SCHEDULED,
                m.Activity.reminded_at.is_(None),
                m.Activity.starts_at > now,
                m.Activity.starts_at <= now + timedelta(hours=lead_hours),
            )
        ).all()
    )


def send_reminders(session: Session, outbox, activity_id: str, now: datetime) -> int:
    """Claim the activity's reminder (so replicas never both send) and publish one reminder per registration."""
    claimed = session.execute(
        update(m.Activity)
        .where(m.Activity.id == activity_id, m.Activity.reminded_at.is_(None), m.Activity.status == m.SCHEDULED)
        .values(reminded_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return 0
    activity = session.scalars(
        select(m.Activity).where(m.Activity.id == activity_id).execution_options(populate_existing=True)
    ).one()
    registrations = session.scalars(
        select(m.Registration).where(m.Registration.activity_id == activity_id, m.Registration.status == m.CONFIRMED)
    ).all()
    for registration in registrations:
        registration.reminded_at = now
        outbox.add("reminder_due", registration_data(session, activity, registration))
    return len(registrations)
