"""Check-in and check-out per activity day, and closing an ended activity (no-shows, final figures).

One participation (人次) is one person checked in on one activity day: a five-day summer class attended on
all five days by a child counts five, as the Center counts its 16,000+ summer participations.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.events import models as m
from services.events.exceptions import ActivityNotFound, ActivityNotOpen, AttendanceConflict, ParticipantNotFound
from services.events.rules import local_date
from services.events.workflow import activity_data, lock_activity, venue_name
from shared.platform.ids import new_id


def find_participant(session: Session, activity_id: str, resident_id: str | None, participant_id: str | None):
    query = (
        select(m.Participant, m.Registration)
        .join(m.Registration, m.Registration.id == m.Participant.registration_id)
        .where(m.Participant.activity_id == activity_id, m.Participant.active.is_(True))
    )
    query = query.where(m.Participant.resident_id == resident_id if resident_id else m.Participant.id == participant_id)
    row = session.execute(query).first()
    if row is None or row.Registration.status != m.CONFIRMED:
        raise ParticipantNotFound("no confirmed place on this activity for that person")
    return row.Participant, row.Registration


def _attendance_data(session, activity, participant, registration, day, action, at) -> dict:
    data = activity_data(activity, venue_name(session, activity))
    data.update(
        registration_id=registration.id,
        resident_id=participant.resident_id,
        guardian_resident_id=registration.resident_id,
        is_child=participant.is_child,
        age=participant.age,
        day=day.isoformat(),
        action=action,
        participations=1 if action == "check_in" else 0,
        at=at.isoformat(),
    )
    return data


def _open_activity(session: Session, activity_id: str, now: datetime, opens_minutes: int) -> m.Activity:
    activity = session.get(m.Activity, activity_id)
    if activity is None:
        raise ActivityNotFound(activity_id)
    if activity.status != m.SCHEDULED:
        raise ActivityNotOpen(f"the activity is {activity.status}")
    if now < activity.starts_at - timedelta(minutes=opens_minutes) or now > activity.ends_at:
        raise AttendanceConflict("check-in and check-out happen only during the activity")
    return activity


def check_in(
    session: Session,
    outbox,
    activity_id: str,
    resident_id: str | None,
    participant_id: str | None,
    by: str,
    now: datetime,
    opens_minutes: int,
) -> m.Attendance:
    activity = _open_activity(session, activity_id, now, opens_minutes)
    participant, registration = find_participant(session, activity_id, resident_id, participant_id)
    day = local_date(now)
    attendance = m.Attendance(
        id=new_id(),
        participant_id=participant.id,
        activity_id=activity.id,
        day=day,
        checked_in_at=now,
        checked_in_by=by,
    )
    session.add(attendance)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise AttendanceConflict(f"already checked in on {day.isoformat()}") from None
    outbox.add(
        "attendance_recorded", _attendance_data(session, activity, participant, registration, day, "check_in", now)
    )
    return attendance


def check_out(
    session: Session,
    outbox,
    activity_id: str,
    resident_id: str | None,
    participant_id: str | None,
    by: str,
    now: datetime,
    opens_minutes: int,
) -> m.Attendance:
    activity = _open_activity(session, activity_id, now, opens_minutes)
    participant, registration = find_participant(session, activity_id, resident_id, participant_id)
    day = local_date(now)
    claimed = session.execute(
        update(m.Attendance)
        .where(
            m.Attendance.participant_id == participant.id,
            m.Attendance.day == day,
            m.Attendance.checked_out_at.is_(None),
        )
        .values(checked_out_at=now, checked_out_by=by)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise AttendanceConflict(f"not checked in on {day.isoformat()}, or already checked out")
    outbox.add(
        "attendance_recorded", _attendance_data(session, activity, participant, registration, day, "check_out", now)
    )
    return session.scalars(
        select(m.Attendance).where(m.Attendance.participant_id == participant.id, m.Attendance.day == day)
    ).one()


def ended_activities(session: Session, now: datetime) -> list[str]:
    return list(
        session.scalars(select(m.Activity.id).where(m.Activity.status == m.SCHEDULED, m.Activity.ends_at <= now)).all()
    )


def close_activity(session: Session, outbox, activity_id: str, now: datetime) -> m.Activity | None:
    """Mark no-shows (confirmed participants never checked in), complete the activity, publish its figures."""
    activity = lock_activity(session, activity_id)
    if activity.status != m.SCHEDULED or activity.ends_at > now:
        return None
    confirmed = session.scalars(
        select(m.Participant)
        .join(m.Registration, m.Registration.id == m.Participant.registration_id)
        .where(m.Participant.activity_id == activity.id, m.Registration.status == m.CONFIRMED)
    ).all()
    days_by_participant = dict(
        session.execute(
            select(m.Attendance.participant_id, func.count())
            .where(m.Attendance.activity_id == activity.id)
            .group_by(m.Attendance.participant_id)
        ).all()
    )
    for participant in confirmed:
        participant.no_show = participant.id not in days_by_participant
    # offers and queue places lapse with the activity
    for registration in session.scalars(
        select(m.Registration).where(
            m.Registration.activity_id == activity.id, m.Registration.status.in_((m.OFFERED, m.WAITLISTED))
        )
    ).all():
        registration.status = m.EXPIRED
        registration.hold_expires_at = None
        registration.updated_at = now
    activity.status = m.COMPLETED
    activity.closed_at = now
    activity.updated_at = now
    no_shows = sum(1 for participant in confirmed if participant.no_show)
    data = activity_data(activity, venue_name(session, activity))
    data.update(
        registered=len(confirmed),
        attended=len(confirmed) - no_shows,
        no_shows=no_shows,
        participations=sum(days_by_participant.values()),
    )
    outbox.add("activity_completed", data)
    return activity


def attendance_summary(session: Session, activity_id: str) -> dict:
    """Per local day: how many checked in and how many are still in (not checked out)."""
    rows = session.execute(
        select(m.Attendance.day, func.count(), func.count(m.Attendance.checked_out_at))
        .where(m.Attendance.activity_id == activity_id)
        .group_by(m.Attendance.day)
        .order_by(m.Attendance.day)
    ).all()
    return {
        "days": [{"day": day.isoformat(), "checked_in": total, "still_in": total - out} for day, total, out in rows],
        "participations": sum(total for _, total, _ in rows),
    }
