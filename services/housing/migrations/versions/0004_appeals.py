"""appeals (复核申请) against refusals

Revision ID: housing_0004
Revises: housing_0003
"""

from alembic import op

from shared.cixi.appeals_table import create_appeals_table, drop_appeals_table

revision = "housing_0004"
down_revision = "housing_0003"
branch_labels = None
depends_on = None


def upgrade():
    create_appeals_table(op)


def downgrade():
    drop_appeals_table(op)
