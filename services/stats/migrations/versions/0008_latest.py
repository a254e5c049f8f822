"""stat_latest: snapshot figures (an account's followers as of a day), the highest-ranked under each key

Revision ID: stats_0008
Revises: stats_0005
"""

import sqlalchemy as sa
from alembic import op

revision = "stats_0008"
down_revision = "stats_0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "stat_latest",
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("town", sa.String(50), primary_key=True),
        sa.Column("category", sa.String(50), primary_key=True),
        sa.Column("metric", sa.String(100), primary_key=True),
        sa.Column("rank", sa.String(120), nullable=False),
        sa.Column("value", sa.BigInteger, nullable=False),
    )


def downgrade():
    op.drop_table("stat_latest")
