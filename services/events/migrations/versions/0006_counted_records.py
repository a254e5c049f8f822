"""what the Center counts after the fact (issue #16 item 10): held activities (a past season's back-entry, an
open event's headcount), care visits, trainings and their trainees, publications and their distribution, and
a venue's opening day and a reading room's shared branch in the venue register

Revision ID: events_0006
Revises: events_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "events_0006"
down_revision = "events_0004"
branch_labels = None
depends_on = None


def ts(name):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def recorded():
    return [sa.Column("recorded_by", sa.String(100), nullable=False), ts("created_at")]


def upgrade():
    with op.batch_alter_table("venues") as batch:
        batch.add_column(sa.Column("shares_venue_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("opened_on", sa.Date, nullable=True))
        batch.create_foreign_key("fk_venues_shares_venue", "venues", ["shares_venue_id"], ["id"])
    op.create_table(
        "held_activities",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("programme", sa.String(40), nullable=False),
        sa.Column("entry", sa.String(20), nullable=False),
        sa.Column("venue_id", sa.String(36), sa.ForeignKey("venues.id"), nullable=True),
        sa.Column("town", sa.String(20), nullable=False),
        sa.Column("place", sa.String(200), nullable=False),
        sa.Column("held_on", sa.Date, nullable=False, index=True),
        sa.Column("headcount", sa.Integer, nullable=False),
        sa.Column("child_headcount", sa.Integer, nullable=False),
        *recorded(),
        sa.CheckConstraint("child_headcount >= 0 AND child_headcount <= headcount", name="ck_held_headcount"),
    )
    op.create_table(
        "care_visits",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("visit_date", sa.Date, nullable=False, index=True),
        sa.Column("town", sa.String(20), nullable=False),
        sa.Column("place", sa.String(200), nullable=False),
        sa.Column("led_by", sa.String(40), nullable=False),
        sa.Column("leading_official", sa.String(100), nullable=False),
        sa.Column("children", sa.Integer, nullable=False),
        sa.Column("gifts", sa.Integer, nullable=False),
        *recorded(),
    )
    op.create_table(
        "trainings",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("topic", sa.String(40), nullable=False),
        sa.Column("town", sa.String(20), nullable=False),
        sa.Column("place", sa.String(200), nullable=False),
        sa.Column("held_on", sa.Date, nullable=False, index=True),
        *recorded(),
    )
    op.create_table(
        "trainees",
        sa.Column("training_id", sa.String(36), sa.ForeignKey("trainings.id"), primary_key=True),
        sa.Column("resident_id", sa.String(64), primary_key=True),
    )
    op.create_table(
        "publications",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("copies_printed", sa.Integer, nullable=False),
        sa.Column("channels", sa.String(100), nullable=False),
        *recorded(),
    )
    op.create_table(
        "publication_distributions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("publication_id", sa.String(36), sa.ForeignKey("publications.id"), nullable=False, index=True),
        sa.Column("town", sa.String(20), nullable=False),
        sa.Column("distributed_on", sa.Date, nullable=False),
        sa.Column("copies", sa.Integer, nullable=False),
        *recorded(),
        sa.CheckConstraint("copies > 0", name="ck_distribution_copies"),
    )


def downgrade():
    for table in ("publication_distributions", "publications", "trainees", "trainings", "care_visits"):
        op.drop_table(table)
    op.drop_table("held_activities")
    with op.batch_alter_table("venues") as batch:
        batch.drop_constraint("fk_venues_shares_venue", type_="foreignkey")
        batch.drop_column("shares_venue_id")
        batch.drop_column("opened_on")
