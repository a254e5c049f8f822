"""What the events RPCs return: activities, registrations and attendance rows as dicts. Each list is read
with a fixed number of queries, however many rows it holds."""

from __future__ import annotations

from bisect import bisect_left

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.events import models as m
from services.events import schemas as s
from services.events.rules import waitlist_order


def activity_out(session: Session, row: m.Activity) -> dict:
    return activities_out(session, [row])[0]


def activities_out(session: Session, rows: list[m.Activity]) -> list[dict]:
    ids = [row.id for row in rows]
    venues = dict(
        session.execute(select(m.Venue.id, m.Venue.name).where(m.Venue.id.in_({r.venue_id for r in rows}))).all()
    )
    waitlisted = dict(
        session.execute(
            select(m.Registration.activity_id, func.count())
            .where(m.Registration.activity_id.in_(ids), m.Registration.status == m.WAITLISTED)
            .group_by(m.Registration.activity_id)
        ).all()
    )
    return [
        {**s.ActivityOut().dump(row), "venue_name": venues.get(row.venue_id), "waitlisted": waitlisted.get(row.id, 0)}
        for row in rows
    ]


def registration_out(session: Session, row: m.Registration) -> dict:
    return registrations_out(session, [row])[0]


def registrations_out(session: Session, rows: list[m.Registration]) -> list[dict]:
    participants: dict[str, list] = {row.id: [] for row in rows}
    if rows:
        for participant in session.scalars(
            select(m.Participant)
            .where(m.Participant.registration_id.in_(list(participants)))
            .order_by(m.Participant.is_child, m.Participant.id)
        ).all():
            participants[participant.registration_id].append(participant)
    positions = waitlist_positions(session, rows)
    out = []
    for row in rows:
        item = s.RegistrationOut().dump(row)
        item["participants"] = s.ParticipantOut(many=True).dump(participants[row.id])
        item["waitlist_position"] = positions.get(row.id)
        out.append(item)
    return out


def waitlist_positions(session: Session, rows: list[m.Registration]) -> dict[str, int]:
    """Each waitlisted row's place in its activity's queue (as `workflow.waitlist_position`: one plus those
    strictly ahead by priority, then arrival), from one read of those activities' waitlists."""
    activity_ids = {row.activity_id for row in rows if row.status == m.WAITLISTED}
    if not activity_ids:
        return {}
    queues: dict[str, list[tuple]] = {activity_id: [] for activity_id in activity_ids}
    for activity_id, priority, queue_seq in session.execute(
        select(m.Registration.activity_id, m.Registration.priority, m.Registration.queue_seq).where(
            m.Registration.activity_id.in_(activity_ids), m.Registration.status == m.WAITLISTED
        )
    ).all():
        queues[activity_id].append(waitlist_order(priority, queue_seq))
    for queue in queues.values():
        queue.sort()
    return {
        row.id: bisect_left(queues[row.activity_id], waitlist_order(row.priority, row.queue_seq)) + 1
        for row in rows
        if row.status == m.WAITLISTED
    }


def attendance_out(row: m.Attendance) -> dict:
    return {
        "attendance_id": row.id,
        "participant_id": row.participant_id,
        "day": row.day.isoformat(),
        "checked_in_at": row.checked_in_at.isoformat(),
        "checked_out_at": row.checked_out_at.isoformat() if row.checked_out_at else None,
    }
