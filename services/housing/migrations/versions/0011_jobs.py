"""jobs: disbursements and expiry sweeps run as jobs in resumable chunks, not held by one RPC (issue #18 item 6)

Revision ID: housing_0011
Revises: housing_0009
"""

from alembic import op

from shared.platform.jobs import create_jobs_table, drop_jobs_table

revision = "housing_0011"
down_revision = "housing_0009"
branch_labels = None
depends_on = None


def upgrade():
    create_jobs_table(op)


def downgrade():
    drop_jobs_table(op)
