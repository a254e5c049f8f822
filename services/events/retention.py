"""What events keeps about who took part, and for how long once the activity is over.

A registration and its seats say which resident (and which child, of what age) went to which activity. Their
purpose, a seat, a hold, a reminder, a check-in, is spent when the activity ends; figures (人次, children
served) come from events, not from these rows. `RETENTION_DAYS.past_activity_participants` (default 1 year)
after the activity is closed or cancelled, the `resident_id` on the registration and on each seat is replaced
by a marker unique to the row, so the rows stay countable (seats, children, ages, attendance, no-shows) but no
longer say who. Volunteers' service hours are kept (`resident_pseudonyms`): they are the volunteer's record;
so are the trainees of a training (the child's record of having been trained, pseudonyms only).
"""

from __future__ import annotations

from sqlalchemy import func, literal, select, update

from services.events import models as m
from shared.platform.retention import RetentionRule, kept_pseudonyms

ERASED_PREFIX = "erased:"  # + the row's own id: a participant's (activity, resident) index stays unique
ONE_YEAR = 365


def _past_activity_registrations_due(cutoff):
    # a closed or cancelled activity is final; one still scheduled can yet be moved or cancelled, and its
    # registrants told, however long ago it ended (the sweep closes it, and its year starts then)
    ended_at = func.coalesce(m.Activity.closed_at, m.Activity.cancelled_at)
    return (
        select(m.Registration.id)
        .join(m.Activity, m.Activity.id == m.Registration.activity_id)
        .where(
            m.Activity.status.in_((m.COMPLETED, m.ACTIVITY_CANCELLED)),
            ended_at < cutoff,
            ~m.Registration.resident_id.startswith(ERASED_PREFIX),
        )
    )


def _unlink(session, ids) -> None:
    session.execute(
        update(m.Registration)
        .where(m.Registration.id.in_(ids))
        .values(resident_id=literal(ERASED_PREFIX) + m.Registration.id)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(m.Participant)
        .where(m.Participant.registration_id.in_(ids))
        .values(resident_id=literal(ERASED_PREFIX) + m.Participant.id)
        .execution_options(synchronize_session=False)
    )


RULES = (
    RetentionRule(
        "past_activity_participants",
        ONE_YEAR,
        due=_past_activity_registrations_due,
        erase=_unlink,
        description="who registered for and held the seats of activities that ended (counts and ages stay)",
        tables=(m.Registration.__tablename__, m.Participant.__tablename__),
    ),
    kept_pseudonyms(m.ServiceHours.__tablename__, m.Trainee.__tablename__),
)
