"""The `appeals` table every service with appealable cases has, for its migrations (`AppealColumns` in
`shared/cixi/appeals.py` is the same table as the ORM sees it)."""

from __future__ import annotations

import sqlalchemy as sa

from shared.cixi.appeals import OPEN_SQL


def create_appeals_table(op) -> None:
    """The service's appeals (`shared.cixi.appeals.AppealColumns`)."""
    op.create_table(
        "appeals",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("case_type", sa.String(50), nullable=False),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("resident_id", sa.String(64), nullable=False),
        sa.Column("guardian_resident_id", sa.String(64), nullable=True),
        sa.Column("owner_subject", sa.String(100), nullable=True),
        sa.Column("town", sa.String(20), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("statement", sa.Text, nullable=False),
        sa.Column("lodged_by", sa.String(100), nullable=False),
        sa.Column("refusal", sa.String(20), nullable=False),
        sa.Column("refused_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refused_by", sa.String(100), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("reviewer", sa.String(100), nullable=True),
        sa.Column("review_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(100), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reasons", sa.Text, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_appeals_resident_id", "appeals", ["resident_id"])
    op.create_index("ix_appeals_owner_subject", "appeals", ["owner_subject"])
    op.create_index("ix_appeals_case", "appeals", ["case_type", "case_id"])
    op.create_index("ix_appeals_status_due", "appeals", ["status", "due_on"])
    op.create_index(
        "uq_appeals_open_case",
        "appeals",
        ["case_type", "case_id"],
        unique=True,
        sqlite_where=sa.text(OPEN_SQL),
        postgresql_where=sa.text(OPEN_SQL),
    )


def drop_appeals_table(op) -> None:
    op.drop_table("appeals")
