"""processed_events: an index on processed_at, which each retention purge batch reads by age

Revision ID: notify_0014
Revises: notify_0011
"""

from alembic import op

from shared.platform.migrations import create_ledger_age_index, drop_ledger_age_index

revision = "notify_0014"
down_revision = "notify_0011"
branch_labels = None
depends_on = None


def upgrade():
    create_ledger_age_index(op)


def downgrade():
    drop_ledger_age_index(op)
