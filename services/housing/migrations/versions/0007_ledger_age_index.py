"""processed_events: an index on processed_at, which each retention purge batch reads by age

Revision ID: housing_0007
Revises: housing_0006
"""

from alembic import op

from shared.platform.migrations import create_ledger_age_index, drop_ledger_age_index

revision = "housing_0007"
down_revision = "housing_0006"
branch_labels = None
depends_on = None


def upgrade():
    create_ledger_age_index(op)


def downgrade():
    drop_ledger_age_index(op)
