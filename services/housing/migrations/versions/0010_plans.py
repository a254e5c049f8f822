"""housing_plans: a year's planned addition to the 保租房 stock and its operator-subsidy budget forecast, each
published once for the report (issue #16 item 10)

Revision ID: housing_0010
Revises: housing_0008
"""

import sqlalchemy as sa
from alembic import op

revision = "housing_0010"
down_revision = "housing_0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "housing_plans",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("projects", sa.Integer, nullable=False),
        sa.Column("units", sa.Integer, nullable=False),
        sa.Column("amount_fen", sa.Integer, nullable=False),
        sa.Column("policy_ref", sa.String(200), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("kind", "year", name="uq_housing_plan_kind_year"),
    )


def downgrade():
    op.drop_table("housing_plans")
