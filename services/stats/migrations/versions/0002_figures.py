"""figures: the append-only archive of consumed envelopes and the live figure tables

Revision ID: stats_0002
Revises: stats_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "stats_0002"
down_revision = "stats_0001"
branch_labels = None
depends_on = None

SEQUENCE_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

SQLITE_GUARDS = [
    f"""CREATE TRIGGER stat_archive_no_{action.lower()} BEFORE {action} ON stat_archive
        BEGIN SELECT RAISE(ABORT, 'stat_archive is append-only'); END"""
    for action in ("UPDATE", "DELETE")
]

POSTGRES_GUARDS = [
    """CREATE FUNCTION stat_archive_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'stat_archive is append-only'; END $$""",
    """CREATE TRIGGER stat_archive_append_only BEFORE UPDATE OR DELETE ON stat_archive
       FOR EACH ROW EXECUTE FUNCTION stat_archive_append_only()""",
    """CREATE TRIGGER stat_archive_no_truncate BEFORE TRUNCATE ON stat_archive
       FOR EACH STATEMENT EXECUTE FUNCTION stat_archive_append_only()""",
]


def figure_key() -> list:
    return [
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("town", sa.String(50), primary_key=True),
        sa.Column("category", sa.String(50), primary_key=True),
        sa.Column("metric", sa.String(100), primary_key=True),
    ]


def upgrade():
    op.create_table(
        "stat_archive",
        sa.Column("seq", SEQUENCE_TYPE, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_index("ix_stat_archive_kind", "stat_archive", ["source", "event_type"])
    op.create_table("stat_totals", *figure_key(), sa.Column("value", sa.BigInteger, nullable=False, server_default="0"))
    op.create_table("stat_members", *figure_key(), sa.Column("member", sa.String(100), primary_key=True))
    op.create_index("ix_stat_members_metric_year", "stat_members", ["metric", "year"])
    guards = POSTGRES_GUARDS if op.get_bind().dialect.name == "postgresql" else SQLITE_GUARDS
    for statement in guards:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS stat_archive_no_truncate ON stat_archive")
        op.execute("DROP TRIGGER IF EXISTS stat_archive_append_only ON stat_archive")
        op.execute("DROP FUNCTION IF EXISTS stat_archive_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS stat_archive_no_update")
        op.execute("DROP TRIGGER IF EXISTS stat_archive_no_delete")
    op.drop_index("ix_stat_members_metric_year", table_name="stat_members")
    op.drop_table("stat_members")
    op.drop_table("stat_totals")
    op.drop_index("ix_stat_archive_kind", table_name="stat_archive")
    op.drop_table("stat_archive")
