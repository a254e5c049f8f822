"""notifications.submission: the number in the out_id, apart from the attempt counter

A retry after a technical failure (the gateway's answer lost) goes again under the same out_id, so a
gateway that took the first one de-duplicates it; only an outcome known to be final at the gateway
(refused, or a failure receipt) moves to the next number.

Revision ID: notify_0006
Revises: notify_0005
"""

import sqlalchemy as sa
from alembic import op

revision = "notify_0006"
down_revision = "notify_0005"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("notifications", sa.Column("submission", sa.Integer, nullable=False, server_default="1"))
    # rows in flight keep the out_id they went under (<id>.<attempts>); a temporary failure waiting for its
    # retry was known finished, so its next try is a new submission, as the old scheme would have sent it
    notifications = sa.table(
        "notifications",
        sa.column("submission", sa.Integer),
        sa.column("attempts", sa.Integer),
        sa.column("status", sa.String),
        sa.column("next_attempt_at", sa.DateTime(timezone=True)),
    )
    waiting_after_failure = sa.and_(
        notifications.c.status == "temporary-failure", notifications.c.next_attempt_at.is_not(None)
    )
    op.execute(
        notifications.update()
        .where(notifications.c.attempts > 0)
        .values(
            submission=sa.case((waiting_after_failure, notifications.c.attempts + 1), else_=notifications.c.attempts)
        )
    )


def downgrade():
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("submission")
