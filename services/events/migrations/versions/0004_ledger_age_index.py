"""processed_events: an index on processed_at, which each retention purge batch reads by age

Revision ID: events_0004
Revises: events_0003
"""

from alembic import op

from shared.platform.migrations import create_ledger_age_index, drop_ledger_age_index

revision = "events_0004"
down_revision = "events_0003"
branch_labels = None
depends_on = None


def upgrade():
    create_ledger_age_index(op)


def downgrade():
    drop_ledger_age_index(op)
