"""callback_nonces: the nonce of every signed callback notify accepted, kept until its timestamp is out of the
signature window, so a captured push is refused when it comes again (services/notify/callback_guard.py)

Revision ID: notify_0010
Revises: notify_0009
"""

import sqlalchemy as sa
from alembic import op

revision = "notify_0010"
down_revision = "notify_0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "callback_nonces",
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_callback_nonces_expires_at", "callback_nonces", ["expires_at"])


def downgrade():
    op.drop_index("ix_callback_nonces_expires_at", table_name="callback_nonces")
    op.drop_table("callback_nonces")
