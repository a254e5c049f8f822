"""policy_values takes the shared policy store's shape (shared/platform/policy_store.py): a row per (name,
effective_from) with an id, its `value` a JSON number. A figure's effective year becomes 1 January of that
year; the value keeps every digit it had (Numeric(18, 4), written without trailing zeros); unit, reference
and note are unchanged.

Downgrade turns each date back into its year: a row added later on another day than 1 January keeps only
its year (and two rows of one name in one year cannot both go back).

Revision ID: insurance_0009
Revises: insurance_0008
"""

import json
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

from shared.platform.migrations import create_policy_table

revision = "insurance_0009"
down_revision = "insurance_0008"
branch_labels = None
depends_on = None


def _note() -> sa.Column:
    return sa.Column("note", sa.String(300), nullable=True)


def _rows() -> list[dict]:
    table = sa.Table("policy_values", sa.MetaData(), autoload_with=op.get_bind())
    return [dict(row._mapping) for row in op.get_bind().execute(sa.select(table))]


def upgrade():
    rows = _rows()
    op.drop_table("policy_values")
    table = create_policy_table(op, "policy_values", _note())
    rows.sort(key=lambda row: (row["name"], row["effective_year"]))
    op.bulk_insert(
        table,
        [
            {
                "name": row["name"],
                "effective_from": date(row["effective_year"], 1, 1),
                "value": f"{Decimal(row['value']).normalize():f}",  # a JSON number: no exponent, no float
                "unit": row["unit"],
                "policy_ref": row["policy_ref"],
                "note": row["note"],
            }
            for row in rows
        ],
    )


def downgrade():
    rows = _rows()
    op.drop_table("policy_values")
    table = op.create_table(
        "policy_values",
        sa.Column("name", sa.String(80), primary_key=True),
        sa.Column("effective_year", sa.Integer, primary_key=True),
        sa.Column("value", sa.Numeric(18, 4), nullable=False),
        sa.Column("unit", sa.String(20), nullable=False),
        sa.Column("policy_ref", sa.String(300), nullable=False),
        _note(),
    )
    op.bulk_insert(
        table,
        [
            {
                "name": row["name"],
                "effective_year": row["effective_from"].year,
                "value": json.loads(row["value"], parse_float=Decimal),
                "unit": row["unit"],
                "policy_ref": row["policy_ref"],
                "note": row["note"],
            }
            for row in rows
        ],
    )
