"""notifications.held_call and held_at: what names a call whose answer was lost (its client id, and when it
was made), so that the vendor's records are asked before the message is sent again

A row held before this revision has neither: it is retried as before, under the same out_id.

Revision ID: notify_0016
Revises: notify_0015
"""

import sqlalchemy as sa
from alembic import op

revision = "notify_0016"
down_revision = "notify_0015"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("held_call", sa.String(80), nullable=True))
        batch.add_column(sa.Column("held_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("held_at")
        batch.drop_column("held_call")
