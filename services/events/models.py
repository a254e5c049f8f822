"""events's tables. Only this service reads or writes them.

Seats are a counter on the activity (`seats_taken`), changed only by conditional UPDATEs while the activity
row is locked, and guarded by a CHECK constraint: capacity can never be exceeded, whatever the callers do.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.platform.jobs import JobColumns
from shared.platform.models import UtcDateTime
from shared.platform.policy_store import PolicyColumns


class Base(DeclarativeBase):
    pass


# Registration statuses. Seats are held (counted in seats_taken) in HOLDING_SEATS.
PENDING, CONFIRMED, WAITLISTED, OFFERED = "pending", "confirmed", "waitlisted", "offered"
REJECTED, CANCELLED, EXPIRED = "rejected", "cancelled", "expired"
HOLDING_SEATS = (PENDING, CONFIRMED, OFFERED)
ACTIVE = (PENDING, CONFIRMED, OFFERED, WAITLISTED)

SCHEDULED, ACTIVITY_CANCELLED, COMPLETED = "scheduled", "cancelled", "completed"


class PolicyValue(PolicyColumns, Base):
    """One operational rule that officials change ([assumed] values): a row of the shared policy store, one per
    setting (services/events/policy.py names them)."""

    __tablename__ = "policy_values"


class Venue(Base):
    __tablename__ = "venues"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    town: Mapped[str] = mapped_column(String(20), index=True)
    address: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # a reading room housed in a town branch library (seed §3: 4 of the 15 share a branch's premises)
    shares_venue_id: Mapped[str | None] = mapped_column(ForeignKey("venues.id"), nullable=True)
    opened_on: Mapped[date | None] = mapped_column(Date, nullable=True)  # None: a venue entered before #16
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class VolunteerTeam(Base):
    __tablename__ = "volunteer_teams"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    town: Mapped[str] = mapped_column(String(20), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ServiceRecord(Base):
    """A team's service on one day: who served, for how long, and how many people (人次) they served."""

    __tablename__ = "service_records"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("volunteer_teams.id"), index=True)
    activity_id: Mapped[str | None] = mapped_column(ForeignKey("activities.id"), nullable=True)
    service_date: Mapped[date] = mapped_column(Date)
    people_served: Mapped[int] = mapped_column(Integer)
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ServiceHours(Base):
    __tablename__ = "service_hours"

    record_id: Mapped[str] = mapped_column(ForeignKey("service_records.id"), primary_key=True)
    resident_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    minutes: Mapped[int] = mapped_column(Integer)

    __table_args__ = (CheckConstraint("minutes > 0", name="ck_service_hours_positive"),)


class Activity(Base):
    __tablename__ = "activities"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    venue_id: Mapped[str] = mapped_column(ForeignKey("venues.id"))
    town: Mapped[str] = mapped_column(String(20))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    capacity: Mapped[int] = mapped_column(Integer)
    seats_taken: Mapped[int] = mapped_column(Integer, default=0)
    min_age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    organiser: Mapped[str | None] = mapped_column(String(200), nullable=True)
    organiser_team_id: Mapped[str | None] = mapped_column(ForeignKey("volunteer_teams.id"), nullable=True)
    moderated: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default=SCHEDULED)
    lock_version: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)

    __table_args__ = (
        CheckConstraint("seats_taken >= 0 AND seats_taken <= capacity", name="ck_activities_seats"),
        CheckConstraint("capacity > 0", name="ck_activities_capacity"),
        Index("ix_activities_town_start", "town", "starts_at"),
        Index("ix_activities_status_start", "status", "starts_at"),
    )


class Registration(Base):
    """One request for seats: a resident alone, or a parent with children (all seats or none)."""

    __tablename__ = "registrations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    activity_id: Mapped[str] = mapped_column(ForeignKey("activities.id"))
    resident_id: Mapped[str] = mapped_column(String(64), index=True)
    seats: Mapped[int] = mapped_column(Integer)
    children: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    queued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    queue_seq: Mapped[int] = mapped_column(Integer)  # the activity's lock_version when queued: arrival order
    hold_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        CheckConstraint("seats > 0", name="ck_registrations_seats"),
        Index("ix_registrations_queue", "activity_id", "status", "priority", "queue_seq"),
        Index("ix_registrations_hold", "status", "hold_expires_at"),
    )


class Participant(Base):
    """A person holding (or queueing for) one seat. `active` rows are unique per activity and person."""

    __tablename__ = "participants"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    registration_id: Mapped[str] = mapped_column(ForeignKey("registrations.id"), index=True)
    activity_id: Mapped[str] = mapped_column(ForeignKey("activities.id"))
    resident_id: Mapped[str] = mapped_column(String(64))
    is_child: Mapped[bool] = mapped_column(Boolean)
    age: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    no_show: Mapped[bool | None] = mapped_column(Boolean, nullable=True)

    __table_args__ = (
        Index(
            "ux_participants_active",
            "activity_id",
            "resident_id",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )


class Attendance(Base):
    """One row per participant per activity day (a multi-day summer class has one per day attended)."""

    __tablename__ = "attendance"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id"))
    activity_id: Mapped[str] = mapped_column(ForeignKey("activities.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    checked_in_at: Mapped[datetime] = mapped_column(UtcDateTime)
    checked_in_by: Mapped[str] = mapped_column(String(100))
    checked_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    checked_out_by: Mapped[str | None] = mapped_column(String(100), nullable=True)

    __table_args__ = (Index("ux_attendance_day", "participant_id", "day", unique=True),)


# --- what the Center counts after the fact (records.py) --------------------------------------------------


class HeldActivity(Base):
    """An activity counted by heads: a past season's back-entry or an open event without registration."""

    __tablename__ = "held_activities"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    programme: Mapped[str] = mapped_column(String(40))
    entry: Mapped[str] = mapped_column(String(20))
    venue_id: Mapped[str | None] = mapped_column(ForeignKey("venues.id"), nullable=True)
    town: Mapped[str] = mapped_column(String(20))
    place: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date] = mapped_column(Date, index=True)
    headcount: Mapped[int] = mapped_column(Integer)
    child_headcount: Mapped[int] = mapped_column(Integer)
    series: Mapped[str | None] = mapped_column(String(40), nullable=True)
    edition: Mapped[int | None] = mapped_column(Integer, nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        CheckConstraint("child_headcount >= 0 AND child_headcount <= headcount", name="ck_held_headcount"),
    )


class CareVisit(Base):
    __tablename__ = "care_visits"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    visit_date: Mapped[date] = mapped_column(Date, index=True)
    town: Mapped[str] = mapped_column(String(20))
    place: Mapped[str] = mapped_column(String(200))
    led_by: Mapped[str] = mapped_column(String(40))
    leading_official: Mapped[str] = mapped_column(String(100))  # a public role's holder; never in an event
    children: Mapped[int] = mapped_column(Integer)
    gifts: Mapped[int] = mapped_column(Integer)
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Training(Base):
    __tablename__ = "trainings"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    topic: Mapped[str] = mapped_column(String(40))
    town: Mapped[str] = mapped_column(String(20))
    place: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date] = mapped_column(Date, index=True)
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Trainee(Base):
    __tablename__ = "trainees"

    training_id: Mapped[str] = mapped_column(ForeignKey("trainings.id"), primary_key=True)
    resident_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class Publication(Base):
    __tablename__ = "publications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    title: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    issued_on: Mapped[date] = mapped_column(Date)
    copies_printed: Mapped[int] = mapped_column(Integer)
    channels: Mapped[str] = mapped_column(String(100))  # comma-separated PUBLICATION_CHANNELS
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PublicationDistribution(Base):
    __tablename__ = "publication_distributions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    publication_id: Mapped[str] = mapped_column(ForeignKey("publications.id"), index=True)
    town: Mapped[str] = mapped_column(String(20))
    distributed_on: Mapped[date] = mapped_column(Date)
    copies: Mapped[int] = mapped_column(Integer)
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (CheckConstraint("copies > 0", name="ck_distribution_copies"),)


class FollowerCount(Base):
    """An account's followers as of a day (a snapshot); a later row for the same day corrects an earlier one."""

    __tablename__ = "follower_counts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    as_of: Mapped[date] = mapped_column(Date, index=True)
    followers: Mapped[int] = mapped_column(Integer)
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (CheckConstraint("followers >= 0", name="ck_follower_count"),)


class Job(JobColumns, Base):
    """A batch run as a job (shared/platform/jobs.py): the retention purge."""

    __tablename__ = "jobs"
