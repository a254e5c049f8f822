"""jobs: the retention purge (and any batch run of this service) as a job in resumable chunks, not held by one
RPC or one timer run; every service has the same jobs table (issue #18 item 6)

Revision ID: insurance_0010
Revises: insurance_0009
"""

from alembic import op

from shared.platform.jobs import create_jobs_table, drop_jobs_table

revision = "insurance_0010"
down_revision = "insurance_0009"
branch_labels = None
depends_on = None


def upgrade():
    create_jobs_table(op)


def downgrade():
    drop_jobs_table(op)
