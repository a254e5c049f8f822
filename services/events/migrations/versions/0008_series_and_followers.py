"""seed §4's publicity figures (issue #16): a held activity's yearly series and edition (第八个市民幸福体验日),
and the follower counts of the Center's accounts ("我在慈溪" 累计关注人数)

Revision ID: events_0008
Revises: events_0006
"""

import sqlalchemy as sa
from alembic import op

revision = "events_0008"
down_revision = "events_0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("held_activities") as batch:
        batch.add_column(sa.Column("series", sa.String(40), nullable=True))
        batch.add_column(sa.Column("edition", sa.Integer, nullable=True))
    op.create_table(
        "follower_counts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("as_of", sa.Date, nullable=False, index=True),
        sa.Column("followers", sa.Integer, nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("followers >= 0", name="ck_follower_count"),
    )


def downgrade():
    op.drop_table("follower_counts")
    with op.batch_alter_table("held_activities") as batch:
        batch.drop_column("edition")
        batch.drop_column("series")
