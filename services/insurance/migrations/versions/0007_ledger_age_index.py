"""processed_events: an index on processed_at, which each retention purge batch reads by age

Revision ID: insurance_0007
Revises: insurance_0006
"""

from alembic import op

from shared.platform.migrations import create_ledger_age_index, drop_ledger_age_index

revision = "insurance_0007"
down_revision = "insurance_0006"
branch_labels = None
depends_on = None


def upgrade():
    create_ledger_age_index(op)


def downgrade():
    drop_ledger_age_index(op)
