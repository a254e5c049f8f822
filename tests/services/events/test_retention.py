"""A year after an activity ends, its registrations and seats no longer say who; counts and ages stay."""

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from services.events import models as m
from services.events.retention import ERASED_PREFIX, ONE_YEAR, RULES
from shared.platform.clock import utcnow
from tests.support.retention import migrated, purged, rows_by

# how each activity ended, relative to the end of the retention period
ENDINGS = {
    "closed-just-in": ("closed_at", timedelta(days=1)),  # one day of the period left: stays
    "closed-at-end": ("closed_at", timedelta(0)),  # exactly the period, not more: stays
    "closed-just-out": ("closed_at", -timedelta(seconds=1)),  # the period is over: goes
    "cancelled-just-in": ("cancelled_at", timedelta(days=1)),
    "cancelled-just-out": ("cancelled_at", -timedelta(seconds=1)),
    "never-closed-out": ("ends_at", -timedelta(days=30)),  # still scheduled, so it may yet change: stays
}

STATUS = {"closed_at": m.COMPLETED, "cancelled_at": m.ACTIVITY_CANCELLED, "ends_at": m.SCHEDULED}


def seed(session, now: datetime, period_end: datetime) -> None:
    session.add(m.Venue(id="v", name="慈溪市图书馆", kind="library", town="浒山街道", created_at=now))
    session.flush()
    for activity, (column, offset) in ENDINGS.items():
        ended = period_end + offset
        session.add(m.Activity(
            id=activity, title="童乐故事会", kind="story_hour", venue_id="v", town="浒山街道",
            starts_at=ended - timedelta(hours=2), ends_at=ended, capacity=10, seats_taken=2, created_by="cw-1",
            created_at=ended, updated_at=ended, status=STATUS[column],
            **({column: ended} if column != "ends_at" else {}),
        ))  # fmt: skip
        session.flush()
        registration = f"reg-{activity}"
        session.add(m.Registration(
            id=registration, activity_id=activity, resident_id="r_parent", seats=2, children=1, status=m.CONFIRMED,
            queued_at=ended, queue_seq=1, created_by="r_parent", created_at=ended, updated_at=ended,
        ))  # fmt: skip
        session.flush()
        for who, is_child, age in (("r_parent", False, 34), ("r_child", True, 6)):
            session.add(m.Participant(id=f"{who}-{activity}", registration_id=registration, activity_id=activity,
                                      resident_id=who, is_child=is_child, age=age))  # fmt: skip
    session.commit()


def test_participants_are_unlinked_a_year_after_the_activity_ends_and_not_a_day_sooner(db_url, process_clock):
    process_clock(datetime(2027, 7, 20, 2, 0, tzinfo=UTC))
    now = utcnow()
    engine = migrated("events", db_url)
    with Session(engine) as session:
        seed(session, now, now - timedelta(days=ONE_YEAR))

    assert purged(engine, RULES, "past_activity_participants", now) == 2
    seats = list(rows_by(engine, m.Participant, "id").values())
    registrations = rows_by(engine, m.Registration, "activity_id")
    unlinked = {activity for activity, row in registrations.items() if row.resident_id.startswith(ERASED_PREFIX)}
    assert unlinked == {"closed-just-out", "cancelled-just-out"}
    assert {seat.activity_id for seat in seats if seat.resident_id.startswith(ERASED_PREFIX)} == unlinked
    assert {seat.resident_id for seat in seats if seat.activity_id not in unlinked} == {"r_parent", "r_child"}
    # what figures and the record need stays: seats, children, ages; two seats of one activity stay distinct
    assert (registrations["closed-just-out"].seats, registrations["closed-just-out"].children) == (2, 1)
    out = [seat for seat in seats if seat.activity_id == "closed-just-out"]
    assert sorted(seat.age for seat in out) == [6, 34] and len({seat.resident_id for seat in out}) == 2
