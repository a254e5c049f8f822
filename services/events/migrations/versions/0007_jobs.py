"""jobs: the retention purge (and any batch run of this service) as a job in resumable chunks, not held by one
RPC or one timer run; every service has the same jobs table (issue #18 item 6)

Revision ID: events_0007
Revises: events_0005
"""

from alembic import op

from shared.platform.jobs import create_jobs_table, drop_jobs_table

revision = "events_0007"
down_revision = "events_0005"
branch_labels = None
depends_on = None


def upgrade():
    create_jobs_table(op)


def downgrade():
    drop_jobs_table(op)
