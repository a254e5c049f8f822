"""tenancies.rent_set_on (the annual rent-increase cap counts from the day the rent in force was set), and the
2025 operator-subsidy row keeps 2024's rate model (10 yuan per ㎡ a year) with the Center's budget forecast as a
forecast, not a per-unit rate (docs/policy.md, issue #16 items 6 and 7)

The 2025 row is corrected in place: `policy_versions` holds one row per programme and day, and the row's
per-unit rate (10 million yuan ÷ 9,000 units, twice 2024's) was the forecast misread. An assessment made on it
keeps its amount and the trace of the row it used.

Revision ID: housing_0008
Revises: housing_0006
"""

import json
from datetime import date

import sqlalchemy as sa
from alembic import op

revision = "housing_0008"
down_revision = "housing_0007"
branch_labels = None
depends_on = None

FORECAST_REF = (
    "保障性租赁住房运营奖补 2025: rate as 2024, 10 yuan/㎡/yr [assumed, no 2025 rate published]; "
    "forecast ~50 projects, ~9,000 units, 10 million yuan [seed §1]"
)
OLD_REF = "保障性租赁住房运营奖补 2025 (planned ~50 projects, ~9,000 units, 10 million yuan [seed]); rate [assumed]"
RULES_2025 = {
    "basis": "per_m2",
    "per_m2_fen": 1000,
    "min_occupancy_permille": 800,
    "require_rent_cap": True,
    "cap_per_project_fen": 50000000,
    # seed §1: 2025年，预计对近50个项目约9000套保租房发放运营奖补1000万元 (a budget, compared against in reports)
    "forecast": {"year": 2025, "projects": 50, "units": 9000, "amount_fen": 1_000_000_000},
}
OLD_RULES_2025 = {
    "basis": "per_unit",
    "per_unit_fen": 111100,
    "min_occupancy_permille": 800,
    "require_rent_cap": True,
    "cap_per_project_fen": 100000000,
}

_policies = sa.table(
    "policy_versions",
    sa.column("programme", sa.String),
    sa.column("effective_from", sa.Date),
    sa.column("policy_ref", sa.String),
    sa.column("rules", sa.Text),
)
_tenancies = sa.table("tenancies", sa.column("rent_set_on", sa.Date), sa.column("start_date", sa.Date))


def _set_2025(ref: str, rules: dict) -> None:
    op.execute(
        _policies.update()
        .where(_policies.c.programme == "operator_subsidy", _policies.c.effective_from == date(2025, 1, 1))
        .values(policy_ref=ref, rules=json.dumps(rules))
    )


def upgrade():
    with op.batch_alter_table("tenancies") as batch:
        batch.add_column(sa.Column("rent_set_on", sa.Date, nullable=True))
    op.execute(_tenancies.update().values(rent_set_on=_tenancies.c.start_date))
    _set_2025(FORECAST_REF, RULES_2025)


def downgrade():
    _set_2025(OLD_REF, OLD_RULES_2025)
    with op.batch_alter_table("tenancies") as batch:
        batch.drop_column("rent_set_on")
