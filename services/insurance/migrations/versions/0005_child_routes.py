"""the child routes as the Center's document says: a newborn is counted in calendar months, the 12-month
contribution rule is an [assumed] setting off by default, and the preschool route runs from the end of the
newborn window to the start of primary school (docs/policy.md)

Revision ID: insurance_0005
Revises: insurance_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "insurance_0005"
down_revision = "insurance_0004"
branch_labels = None
depends_on = None

SEED_2025 = "Cixi New Citizen Service Center, 2025 reply to deputies §2"

# (name, effective_year, value, unit, policy_ref, note)
ADDED = [
    ("medical.newborn_max_age_months", 2022, 6, "months", SEED_2025 + ": 0-6个月新生儿",
     "[assumed reading] through the day the child is six calendar months old (born 31 Jan: through 31 Jul)"),
    ("medical.newborn_parent_contribution_check", 2022, 0, "flag",
     "Ningbo newborn rule (secondary source, not in the seed) [assumed, off]",
     "1 applies medical.newborn_parent_min_contribution_months to the parent"),
    ("medical.school_entry_age_years", 2022, 6, "years", "Compulsory Education Law art. 11: school at six",
     "the preschool route ends when primary school starts"),
    ("medical.school_entry_cutoff_mmdd", 2022, 831, "mmdd", "Zhejiang primary admission: six by 31 August [assumed]",
     "a child six by this day of a year starts school on the next day"),
]  # fmt: skip
REPLACED = [
    ("medical.newborn_max_age_days", 2022, 183, "days", SEED_2025, "0-6 months"),
    ("medical.preschool_max_age_years", 2022, 6, "years", SEED_2025 + " [assumed: up to age 6]", None),
]

policy = sa.table(
    "policy_values",
    sa.column("name", sa.String),
    sa.column("effective_year", sa.Integer),
    sa.column("value", sa.Numeric(18, 4)),
    sa.column("unit", sa.String),
    sa.column("policy_ref", sa.String),
    sa.column("note", sa.String),
)


def _rows(figures):
    return [
        {"name": n, "effective_year": y, "value": v, "unit": u, "policy_ref": ref, "note": note}
        for n, y, v, u, ref, note in figures
    ]


def upgrade():
    op.execute(policy.delete().where(policy.c.name.in_([row[0] for row in REPLACED])))
    op.bulk_insert(policy, _rows(ADDED))


def downgrade():
    op.execute(policy.delete().where(policy.c.name.in_([row[0] for row in ADDED])))
    op.bulk_insert(policy, _rows(REPLACED))
