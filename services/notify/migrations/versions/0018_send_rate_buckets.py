"""send_rate_buckets: the provider send-rate token bucket every notify replica shares (one row per channel)

Revision ID: notify_0018
Revises: notify_0016
"""

import sqlalchemy as sa
from alembic import op

revision = "notify_0018"
down_revision = "notify_0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "send_rate_buckets",
        sa.Column("channel", sa.String(20), primary_key=True),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("refilled_at", sa.Float(), nullable=False),
    )


def downgrade():
    op.drop_table("send_rate_buckets")
