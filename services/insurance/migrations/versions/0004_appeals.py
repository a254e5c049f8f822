"""appeals (复核申请) against refusals

Revision ID: insurance_0004
Revises: insurance_0003
"""

from alembic import op

from shared.cixi.appeals_table import create_appeals_table, drop_appeals_table

revision = "insurance_0004"
down_revision = "insurance_0003"
branch_labels = None
depends_on = None


def upgrade():
    create_appeals_table(op)


def downgrade():
    drop_appeals_table(op)
