"""platform tables: outbox and processed events

Revision ID: events_0001
Revises:
"""

from alembic import op

from shared.platform.migrations import create_platform_tables, drop_platform_tables

revision = "events_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    create_platform_tables(op)


def downgrade():
    drop_platform_tables(op)
