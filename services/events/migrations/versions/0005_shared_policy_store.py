"""events_policies (one row of typed columns per version) becomes `policy_values`, a table of the shared
policy store (shared/platform/policy_store.py): one row per setting and effective date, each with the version's date
and reference, its value a JSON number and its unit.

Downgrade gathers the settings in force on each date a row begins into one events_policies row; its
reference is the settings' references, one each.

Revision ID: events_0005
Revises: events_0008
"""

import json

import sqlalchemy as sa
from alembic import op

from shared.platform.migrations import create_policy_table

revision = "events_0005"
down_revision = "events_0008"
branch_labels = None
depends_on = None

UNITS = {
    "hold_minutes": "minutes",
    "reminder_lead_hours": "hours",
    "max_party_size": "seats",
    "check_in_opens_minutes": "minutes",
    "child_max_age": "years",
}


def _read(table: str) -> list[dict]:
    reflected = sa.Table(table, sa.MetaData(), autoload_with=op.get_bind())
    return [dict(row._mapping) for row in op.get_bind().execute(sa.select(reflected))]


def upgrade():
    versions = sorted(_read("events_policies"), key=lambda row: row["effective_from"])
    op.drop_table("events_policies")
    table = create_policy_table(op, "policy_values")
    op.bulk_insert(
        table,
        [
            {
                "name": name,
                "effective_from": version["effective_from"],
                "value": json.dumps(version[name]),
                "unit": unit,
                "policy_ref": version["policy_ref"],
            }
            for name, unit in UNITS.items()
            for version in versions
        ],
    )


def downgrade():
    rows = sorted(_read("policy_values"), key=lambda row: row["effective_from"])
    op.drop_table("policy_values")
    table = op.create_table(
        "events_policies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("effective_from", sa.Date, nullable=False, unique=True),
        sa.Column("policy_ref", sa.String(200), nullable=False),
        *(sa.Column(name, sa.Integer, nullable=False) for name in UNITS),
    )
    in_force: dict[str, dict] = {}
    versions = []
    for day in sorted({row["effective_from"] for row in rows}):
        in_force.update({row["name"]: row for row in rows if row["effective_from"] == day})
        if set(in_force) < set(UNITS):
            continue  # not every setting is in force yet: events_policies cannot hold a partial version
        refs = list(dict.fromkeys(in_force[name]["policy_ref"] for name in UNITS))
        versions.append(
            {
                "id": len(versions) + 1,
                "effective_from": day,
                "policy_ref": "; ".join(refs)[:200],
                **{name: json.loads(in_force[name]["value"]) for name in UNITS},
            }
        )
    op.bulk_insert(table, versions)
