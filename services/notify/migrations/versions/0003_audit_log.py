"""case audit trail: append-only, guarded by triggers

Revision ID: notify_0003
Revises: notify_0002
"""

from alembic import op

from shared.platform.migrations import create_audit_table, drop_audit_table

revision = "notify_0003"
down_revision = "notify_0002"
branch_labels = None
depends_on = None


def upgrade():
    create_audit_table(op)


def downgrade():
    drop_audit_table(op)
