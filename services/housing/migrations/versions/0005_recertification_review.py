"""subsidy_recertifications (a re-certification that raises the amount or extends the term waits for a second
person) and subsidy_applications.legacy (an imported case no live disbursement pays until a reviewer decides it)

Revision ID: housing_0005
Revises: housing_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "housing_0005"
down_revision = "housing_0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("subsidy_applications") as batch:
        batch.add_column(sa.Column("legacy", sa.Boolean, nullable=False, server_default=sa.false()))
    # every case approved so far by an import carries the importer's fixed note: flag those
    subsidy = sa.table("subsidy_applications", sa.column("legacy", sa.Boolean), sa.column("review_note", sa.Text))
    op.execute(subsidy.update().where(subsidy.c.review_note == "legacy case imported").values(legacy=True))
    op.create_table(
        "subsidy_recertifications",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("application_id", sa.String(36), sa.ForeignKey("subsidy_applications.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("changes", sa.Text, nullable=False),
        sa.Column("previous_monthly_subsidy_fen", sa.Integer, nullable=False),
        sa.Column("monthly_subsidy_fen", sa.Integer, nullable=False),
        sa.Column("previous_end_period", sa.String(7), nullable=False),
        sa.Column("end_period", sa.String(7), nullable=False),
        sa.Column("policy_id", sa.Integer, sa.ForeignKey("policy_versions.id"), nullable=False),
        sa.Column("policy_ref", sa.String(200), nullable=False),
        sa.Column("proposed_by", sa.String(100), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by", sa.String(100), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text, nullable=True),
    )
    op.create_index("ix_subsidy_recertifications_application_id", "subsidy_recertifications", ["application_id"])
    op.create_index("ix_subsidy_recertifications_status", "subsidy_recertifications", ["status"])


def downgrade():
    op.drop_table("subsidy_recertifications")
    with op.batch_alter_table("subsidy_applications") as batch:
        batch.drop_column("legacy")
