"""Seats, the waitlist, holds, moderation and cancellation. Functions take the session, the outbox writer and
`now`; they never commit (the service does, once per change), so a change and its events land together.

Every change to an activity's seats starts with `lock_activity`: an UPDATE of the activity row, which takes
the row lock on PostgreSQL and the write lock on SQLite, so changes to one activity run one at a time. Seats
are then taken by a conditional UPDATE (`seats_taken + n <= capacity`) and a CHECK constraint backs it, so
capacity cannot be exceeded even if a code path forgets the lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.events import models as m
from services.events.exceptions import (
    ActivityNotFound,
    ActivityNotOpen,
    AlreadyRegistered,
    CapacityConflict,
    InvalidTransition,
)
from services.events.rules import hold_expiry, waitlist_order
from shared.platform.ids import new_id


def lock_activity(session: Session, activity_id: str) -> m.Activity:
    result = session.execute(
        update(m.Activity)
        .where(m.Activity.id == activity_id)
        .values(lock_version=m.Activity.lock_version + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise ActivityNotFound(activity_id)
    return session.scalars(
        select(m.Activity).where(m.Activity.id == activity_id).execution_options(populate_existing=True)
    ).one()


def take_seats(session: Session, activity: m.Activity, seats: int) -> bool:
    result = session.execute(
        update(m.Activity)
        .where(
            m.Activity.id == activity.id,
            m.Activity.status == m.SCHEDULED,
            m.Activity.seats_taken + seats <= m.Activity.capacity,
        )
        .values(seats_taken=m.Activity.seats_taken + seats)
        .execution_options(synchronize_session=False)
    )
    session.refresh(activity, ["seats_taken"])
    return result.rowcount == 1


def release_seats(session: Session, activity: m.Activity, seats: int) -> None:
    session.execute(
        update(m.Activity)
        .where(m.Activity.id == activity.id, m.Activity.seats_taken >= seats)
        .values(seats_taken=m.Activity.seats_taken - seats)
        .execution_options(synchronize_session=False)
    )
    session.refresh(activity, ["seats_taken"])


def reload(session: Session, registration_id: str) -> m.Registration | None:
    return session.scalars(
        select(m.Registration).where(m.Registration.id == registration_id).execution_options(populate_existing=True)
    ).first()


# --- event payloads -------------------------------------------------------------------------------


def activity_data(activity: m.Activity, venue_name: str) -> dict:
    return {
        "activity_id": activity.id,
        "title": activity.title,
        "kind": activity.kind,
        "town": activity.town,
        "venue_name": venue_name,
        "starts_at": activity.starts_at.isoformat(),
        "ends_at": activity.ends_at.isoformat(),
    }


def venue_name(session: Session, activity: m.Activity) -> str:
    return session.scalar(select(m.Venue.name).where(m.Venue.id == activity.venue_id)) or ""


def registration_data(session: Session, activity: m.Activity, registration: m.Registration, **extra) -> dict:
    data = activity_data(activity, venue_name(session, activity))
    data.update(
        registration_id=registration.id,
        resident_id=registration.resident_id,
        seats=registration.seats,
        children=registration.children,
    )
    data.update({key: value.isoformat() if isinstance(value, datetime) else value for key, value in extra.items()})
    return data


# --- registration ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seat:
    resident_id: str
    is_child: bool
    age: int


def ensure_open(activity: m.Activity, now: datetime) -> None:
    if activity.status != m.SCHEDULED:
        raise ActivityNotOpen(f"the activity is {activity.status}")
    if now >= activity.starts_at:
        raise ActivityNotOpen("the activity has already started")


def register(
    session: Session,
    outbox,
    activity_id: str,
    registrant_id: str,
    seats: list[Seat],
    priority: int,
    created_by: str,
    now: datetime,
) -> m.Registration:
    activity = lock_activity(session, activity_id)
    ensure_open(activity, now)
    wanted = [seat.resident_id for seat in seats]
    taken = session.scalars(
        select(m.Participant.resident_id).where(
            m.Participant.activity_id == activity.id,
            m.Participant.active.is_(True),
            m.Participant.resident_id.in_(wanted),
        )
    ).all()
    if taken:
        raise AlreadyRegistered(f"{len(taken)} of the people already hold or queue for a place on this activity")
    granted = take_seats(session, activity, len(seats))
    status = (m.PENDING if activity.moderated else m.CONFIRMED) if granted else m.WAITLISTED
    registration = m.Registration(
        id=new_id(),
        activity_id=activity.id,
        resident_id=registrant_id,
        seats=len(seats),
        children=sum(1 for seat in seats if seat.is_child),
        status=status,
        priority=priority,
        queued_at=now,
        queue_seq=activity.lock_version,
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    session.add(registration)
    session.flush()  # no relationship() between the two: the registration row must exist first
    session.add_all(
        m.Participant(
            id=new_id(),
            registration_id=registration.id,
            activity_id=activity.id,
            resident_id=seat.resident_id,
            is_child=seat.is_child,
            age=seat.age,
            active=True,
        )
        for seat in seats
    )
    try:
        session.flush()
    except IntegrityError:  # a concurrent registration of the same person won the race
        session.rollback()
        raise AlreadyRegistered("one of the people already holds or queues for a place on this activity") from None
    if status == m.CONFIRMED:
        outbox.add("registration_confirmed", registration_data(session, activity, registration, confirmed_at=now))
    elif status == m.PENDING:
        outbox.add("registration_pending", registration_data(session, activity, registration))
    else:
        position = waitlist_position(session, registration)
        outbox.add("waitlisted", registration_data(session, activity, registration, position=position))
    return registration


def waitlist_position(session: Session, registration: m.Registration) -> int | None:
    if registration.status != m.WAITLISTED:
        return None
    ahead = session.scalar(
        select(func.count())
        .select_from(m.Registration)
        .where(
            m.Registration.activity_id == registration.activity_id,
            m.Registration.status == m.WAITLISTED,
            m.Registration.id != registration.id,
            or_(
                m.Registration.priority > registration.priority,
                (m.Registration.priority == registration.priority)
                & (m.Registration.queue_seq < registration.queue_seq),
            ),
        )
    )
    return (ahead or 0) + 1


def promote(session: Session, outbox, activity: m.Activity, now: datetime, hold_minutes: int) -> int:
    """Offer freed seats down the waitlist (priority, then time): each party that fits gets a timed hold.

    A family that does not fit in the seats left keeps its place; smaller parties behind it may be offered
    the seats (the seats would otherwise stay empty). No offers once the activity has started.
    """
    if activity.status != m.SCHEDULED or now >= activity.starts_at:
        return 0
    free = activity.capacity - activity.seats_taken
    offered = 0
    if free <= 0:
        return 0
    queue = session.scalars(
        select(m.Registration).where(m.Registration.activity_id == activity.id, m.Registration.status == m.WAITLISTED)
    ).all()
    for registration in sorted(queue, key=lambda r: waitlist_order(r.priority, r.queue_seq)):
        if free <= 0:
            break
        if registration.seats > free or not take_seats(session, activity, registration.seats):
            continue
        free -= registration.seats
        registration.status = m.OFFERED
        registration.hold_expires_at = hold_expiry(now, hold_minutes, activity.starts_at)
        registration.updated_at = now
        outbox.add(
            "seat_offered",
            registration_data(session, activity, registration, hold_expires_at=registration.hold_expires_at),
        )
        offered += 1
    return offered


def _end(session: Session, registration: m.Registration, status: str, now: datetime) -> str:
    """Move a registration out of the running; returns the status it had. Seats are the caller's business."""
    previous = registration.status
    registration.status = status
    registration.hold_expires_at = None
    registration.updated_at = now
    session.execute(
        update(m.Participant)
        .where(m.Participant.registration_id == registration.id)
        .values(active=False)
        .execution_options(synchronize_session=False)
    )
    return previous


def cancel_registration(
    session: Session, outbox, registration: m.Registration, reason: str, now: datetime, hold_minutes: int
) -> m.Registration:
    activity = lock_activity(session, registration.activity_id)
    registration = reload(session, registration.id)
    if registration.status not in m.ACTIVE:
        raise InvalidTransition(f"a {registration.status} registration cannot be cancelled")
    if activity.status != m.SCHEDULED:
        raise ActivityNotOpen(f"the activity is {activity.status}")
    registration.cancel_reason = reason  # before _end, whose UPDATE flushes the change the audit records
    previous = _end(session, registration, m.CANCELLED, now)
    if previous in m.HOLDING_SEATS:
        release_seats(session, activity, registration.seats)
    outbox.add(
        "registration_cancelled",
        registration_data(session, activity, registration, reason=reason, previous_status=previous, cancelled_at=now),
    )
    promote(session, outbox, activity, now, hold_minutes)
    return registration


def accept_offer(session: Session, outbox, registration: m.Registration, now: datetime) -> m.Registration:
    activity = lock_activity(session, registration.activity_id)
    registration = reload(session, registration.id)
    if registration.status != m.OFFERED:
        raise InvalidTransition(f"there is no open offer: the registration is {registration.status}")
    if registration.hold_expires_at is None or now >= registration.hold_expires_at:
        raise InvalidTransition("the offer has expired")
    registration.hold_expires_at = None
    registration.updated_at = now
    if activity.moderated:
        registration.status = m.PENDING
        outbox.add("registration_pending", registration_data(session, activity, registration))
    else:
        registration.status = m.CONFIRMED
        outbox.add("registration_confirmed", registration_data(session, activity, registration, confirmed_at=now))
    return registration


def review(
    session: Session,
    outbox,
    registration: m.Registration,
    approve: bool,
    reason: str | None,
    reviewer: str,
    now: datetime,
    hold_minutes: int,
) -> m.Registration:
    activity = lock_activity(session, registration.activity_id)
    registration = reload(session, registration.id)
    if registration.status != m.PENDING:
        raise InvalidTransition(f"only a pending registration can be reviewed; this one is {registration.status}")
    registration.decided_by = reviewer
    registration.decision_reason = reason
    if approve:
        registration.status = m.CONFIRMED
        registration.updated_at = now
        outbox.add("registration_confirmed", registration_data(session, activity, registration, confirmed_at=now))
        return registration
    _end(session, registration, m.REJECTED, now)
    release_seats(session, activity, registration.seats)
    outbox.add("registration_rejected", registration_data(session, activity, registration, reason=reason))
    promote(session, outbox, activity, now, hold_minutes)
    return registration


def activities_with_expired_holds(session: Session, now: datetime) -> list[str]:
    return list(
        session.scalars(
            select(m.Registration.activity_id)
            .where(m.Registration.status == m.OFFERED, m.Registration.hold_expires_at <= now)
            .distinct()
        ).all()
    )


def expire_holds(session: Session, outbox, activity_id: str, now: datetime, hold_minutes: int) -> int:
    """Expire the activity's lapsed offers and pass their seats down the waitlist; returns how many expired."""
    activity = lock_activity(session, activity_id)
    lapsed = session.scalars(
        select(m.Registration)
        .where(
            m.Registration.activity_id == activity_id,
            m.Registration.status == m.OFFERED,
            m.Registration.hold_expires_at <= now,
        )
        .execution_options(populate_existing=True)
    ).all()
    for registration in lapsed:
        _end(session, registration, m.EXPIRED, now)
        release_seats(session, activity, registration.seats)
        outbox.add("offer_expired", registration_data(session, activity, registration, expired_at=now))
    promote(session, outbox, activity, now, hold_minutes)
    return len(lapsed)


# --- activities -----------------------------------------------------------------------------------


def holders(session: Session, activity_id: str) -> list[m.Registration]:
    return list(
        session.scalars(
            select(m.Registration).where(m.Registration.activity_id == activity_id, m.Registration.status.in_(m.ACTIVE))
        ).all()
    )


def update_activity(
    session: Session, outbox, activity_id: str, changes: dict, now: datetime, hold_minutes: int
) -> m.Activity:
    activity = lock_activity(session, activity_id)
    if activity.status != m.SCHEDULED:
        raise ActivityNotOpen(f"the activity is {activity.status}")
    if changes.get("capacity", activity.capacity) < activity.seats_taken:
        raise CapacityConflict(f"{activity.seats_taken} seats are taken; capacity cannot go below that")
    previous_start, previous_venue = activity.starts_at, activity.venue_id
    for key, value in changes.items():
        setattr(activity, key, value)
    activity.updated_at = now
    session.flush()
    if activity.starts_at != previous_start or activity.venue_id != previous_venue:
        activity.reminded_at = None  # remind again for the new time
        data = activity_data(activity, venue_name(session, activity))
        data["previous_starts_at"] = previous_start.isoformat()
        data["resident_ids"] = sorted({r.resident_id for r in holders(session, activity.id)})
        outbox.add("activity_rescheduled", data)
    promote(session, outbox, activity, now, hold_minutes)
    return activity


def cancel_activity(session: Session, outbox, activity_id: str, reason: str, now: datetime) -> m.Activity:
    """Cancel the activity and every registration still in the running; each registrant is told."""
    activity = lock_activity(session, activity_id)
    if activity.status != m.SCHEDULED:
        raise ActivityNotOpen(f"the activity is {activity.status}")
    affected = holders(session, activity.id)
    activity.status = m.ACTIVITY_CANCELLED
    activity.cancelled_at = now
    activity.cancel_reason = reason
    activity.seats_taken = 0
    activity.updated_at = now
    for registration in affected:
        registration.cancel_reason = "activity_cancelled"  # before _end (see cancel_registration)
        previous = _end(session, registration, m.CANCELLED, now)
        outbox.add(
            "registration_cancelled",
            registration_data(
                session,
                activity,
                registration,
                reason="activity_cancelled",
                previous_status=previous,
                cancelled_at=now,
            ),
        )
    data = activity_data(activity, venue_name(session, activity))
    data.update(reason=reason, registrations_cancelled=len(affected), cancelled_at=now.isoformat())
    outbox.add("activity_cancelled", data)
    return activity
