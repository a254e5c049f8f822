"""broadcasts.approved_by / approved_at / rejected_reason: a second admin approves a large broadcast

A broadcast to more residents than BROADCAST_APPROVAL_ABOVE waits in `awaiting_approval` until an admin other
than its author approves it (then it is recorded and sent) or rejects it.

Revision ID: notify_0009
Revises: notify_0008
"""

import sqlalchemy as sa
from alembic import op

revision = "notify_0009"
down_revision = "notify_0008"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("broadcasts", sa.Column("approved_by", sa.String(100), nullable=True))
    op.add_column("broadcasts", sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("broadcasts", sa.Column("rejected_reason", sa.Text, nullable=True))


def downgrade():
    for column in ("rejected_reason", "approved_at", "approved_by"):
        op.drop_column("broadcasts", column)
