"""jobs: the retention purge (and any batch run of this service) as a job in resumable chunks, not held by one
RPC or one timer run; every service has the same jobs table (issue #18 item 6)

Revision ID: stats_0006
Revises: stats_0008
"""

from alembic import op

from shared.platform.jobs import create_jobs_table, drop_jobs_table

revision = "stats_0006"
down_revision = "stats_0008"
branch_labels = None
depends_on = None


def upgrade():
    create_jobs_table(op)


def downgrade():
    drop_jobs_table(op)
