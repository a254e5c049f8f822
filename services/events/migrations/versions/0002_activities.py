"""venues, activities, registrations, participants, attendance, volunteer teams, policy

Revision ID: events_0002
Revises: events_0001
"""

from datetime import date

import sqlalchemy as sa
from alembic import op

revision = "events_0002"
down_revision = "events_0001"
branch_labels = None
depends_on = None


def ts(name, nullable=False):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade():
    policies = op.create_table(
        "events_policies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("effective_from", sa.Date, nullable=False, unique=True),
        sa.Column("policy_ref", sa.String(200), nullable=False),
        sa.Column("hold_minutes", sa.Integer, nullable=False),
        sa.Column("reminder_lead_hours", sa.Integer, nullable=False),
        sa.Column("max_party_size", sa.Integer, nullable=False),
        sa.Column("check_in_opens_minutes", sa.Integer, nullable=False),
        sa.Column("child_max_age", sa.Integer, nullable=False),
    )
    op.bulk_insert(
        policies,
        [
            {
                "id": 1,
                "effective_from": date(2024, 1, 1),
                "policy_ref": "[assumed] Center operating practice for activity registration, 2024",
                "hold_minutes": 1440,
                "reminder_lead_hours": 24,
                "max_party_size": 6,
                "check_in_opens_minutes": 60,
                "child_max_age": 17,
            }
        ],
    )
    op.create_table(
        "venues",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("town", sa.String(20), nullable=False, index=True),
        sa.Column("address", sa.String(300), nullable=True),
        ts("created_at"),
    )
    op.create_table(
        "volunteer_teams",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("town", sa.String(20), nullable=False, index=True),
        ts("created_at"),
    )
    op.create_table(
        "activities",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("venue_id", sa.String(36), sa.ForeignKey("venues.id"), nullable=False),
        sa.Column("town", sa.String(20), nullable=False),
        ts("starts_at"),
        ts("ends_at"),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("seats_taken", sa.Integer, nullable=False, server_default="0"),
        sa.Column("min_age", sa.Integer, nullable=True),
        sa.Column("max_age", sa.Integer, nullable=True),
        sa.Column("organiser", sa.String(200), nullable=True),
        sa.Column("organiser_team_id", sa.String(36), sa.ForeignKey("volunteer_teams.id"), nullable=True),
        sa.Column("moderated", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("lock_version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_by", sa.String(100), nullable=False),
        ts("created_at"),
        ts("updated_at"),
        ts("reminded_at", nullable=True),
        ts("closed_at", nullable=True),
        ts("cancelled_at", nullable=True),
        sa.Column("cancel_reason", sa.String(500), nullable=True),
        sa.CheckConstraint("seats_taken >= 0 AND seats_taken <= capacity", name="ck_activities_seats"),
        sa.CheckConstraint("capacity > 0", name="ck_activities_capacity"),
    )
    op.create_index("ix_activities_town_start", "activities", ["town", "starts_at"])
    op.create_index("ix_activities_status_start", "activities", ["status", "starts_at"])
    op.create_table(
        "service_records",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("team_id", sa.String(36), sa.ForeignKey("volunteer_teams.id"), nullable=False, index=True),
        sa.Column("activity_id", sa.String(36), sa.ForeignKey("activities.id"), nullable=True),
        sa.Column("service_date", sa.Date, nullable=False),
        sa.Column("people_served", sa.Integer, nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        ts("created_at"),
    )
    op.create_table(
        "service_hours",
        sa.Column("record_id", sa.String(36), sa.ForeignKey("service_records.id"), primary_key=True),
        sa.Column("resident_id", sa.String(64), primary_key=True),
        sa.Column("minutes", sa.Integer, nullable=False),
        sa.CheckConstraint("minutes > 0", name="ck_service_hours_positive"),
    )
    op.create_table(
        "registrations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("activity_id", sa.String(36), sa.ForeignKey("activities.id"), nullable=False),
        sa.Column("resident_id", sa.String(64), nullable=False, index=True),
        sa.Column("seats", sa.Integer, nullable=False),
        sa.Column("children", sa.Integer, nullable=False, server_default="0"),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
        ts("queued_at"),
        sa.Column("queue_seq", sa.Integer, nullable=False),
        ts("hold_expires_at", nullable=True),
        sa.Column("decided_by", sa.String(100), nullable=True),
        sa.Column("decision_reason", sa.String(500), nullable=True),
        sa.Column("cancel_reason", sa.String(40), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        ts("created_at"),
        ts("updated_at"),
        ts("reminded_at", nullable=True),
        sa.CheckConstraint("seats > 0", name="ck_registrations_seats"),
    )
    op.create_index("ix_registrations_queue", "registrations", ["activity_id", "status", "priority", "queue_seq"])
    op.create_index("ix_registrations_hold", "registrations", ["status", "hold_expires_at"])
    op.create_table(
        "participants",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("registration_id", sa.String(36), sa.ForeignKey("registrations.id"), nullable=False, index=True),
        sa.Column("activity_id", sa.String(36), sa.ForeignKey("activities.id"), nullable=False),
        sa.Column("resident_id", sa.String(64), nullable=False),
        sa.Column("is_child", sa.Boolean, nullable=False),
        sa.Column("age", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("no_show", sa.Boolean, nullable=True),
    )
    op.create_index(
        "ux_participants_active",
        "participants",
        ["activity_id", "resident_id"],
        unique=True,
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    )
    op.create_table(
        "attendance",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("participant_id", sa.String(36), sa.ForeignKey("participants.id"), nullable=False),
        sa.Column("activity_id", sa.String(36), sa.ForeignKey("activities.id"), nullable=False, index=True),
        sa.Column("day", sa.Date, nullable=False),
        ts("checked_in_at"),
        sa.Column("checked_in_by", sa.String(100), nullable=False),
        ts("checked_out_at", nullable=True),
        sa.Column("checked_out_by", sa.String(100), nullable=True),
    )
    op.create_index("ux_attendance_day", "attendance", ["participant_id", "day"], unique=True)


def downgrade():
    op.drop_table("attendance")
    op.drop_index("ux_participants_active", table_name="participants")
    op.drop_table("participants")
    op.drop_table("registrations")
    op.drop_table("service_hours")
    op.drop_table("service_records")
    op.drop_table("activities")
    op.drop_table("volunteer_teams")
    op.drop_table("venues")
    op.drop_table("events_policies")
