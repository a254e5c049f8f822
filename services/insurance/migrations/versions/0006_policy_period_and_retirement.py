"""the policy book covers the period the Center's document describes (from 2021-12), a question dated before it
is refused with the date the scheme begins, and working age ends at the statutory retirement age by birth month
and category (the 2024 reform), with a woman's post recorded on her employment registration (docs/policy.md)

Revision ID: insurance_0006
Revises: insurance_0005
"""

import sqlalchemy as sa
from alembic import op

revision = "insurance_0006"
down_revision = "insurance_0005"
branch_labels = None
depends_on = None

FIRST_YEAR = 2021
SEED_2025 = "Cixi New Citizen Service Center, 2025 reply to deputies §2"
WORKERS_1978 = "国发〔1978〕104号 国务院关于工人退休、退职的暂行办法"
CADRES_1978 = "国发〔1978〕104号 国务院关于安置老弱病残干部的暂行办法"
REFORM_2024 = "全国人大常委会关于实施渐进式延迟法定退休年龄的决定 (2024-09-13)"
NO_START = "[assumed] the seed dates no start for this scheme: the book begins with its first dated rule (2021-12)"
WAGE_BACK = "[assumed] not checked against the yearly notice: 2024's row stepped back at the 2024-2026 rows' ~3.5 %/yr"
FEE_BACK = "[assumed] the 2024 amount carried back: earlier yearly amounts are not in our sources"

# (name, effective_year, value, unit, policy_ref, note)
ADDED = [
    ("scheme.pension.starts_yyyymmdd", FIRST_YEAR, 20211201, "yyyymmdd", SEED_2025 + ": 从2021年12月起",
     "flexible workers join enterprise pension where employed; earlier questions are refused"),
    ("scheme.medical.starts_yyyymmdd", FIRST_YEAR, 20211201, "yyyymmdd", NO_START, None),
    ("scheme.elderly_care.starts_yyyymmdd", FIRST_YEAR, 20211201, "yyyymmdd", NO_START, None),
    ("retirement.reform_start_yyyymm", FIRST_YEAR, 202501, "yyyymm", REFORM_2024, "the first month raised"),
    ("retirement.male.base_age_years", FIRST_YEAR, 60, "years", WORKERS_1978, "before the reform"),
    ("retirement.male.target_age_years", FIRST_YEAR, 63, "years", REFORM_2024, None),
    ("retirement.male.step_every_months", FIRST_YEAR, 4, "months", REFORM_2024, "one month later per cohort"),
    ("retirement.female_worker.base_age_years", FIRST_YEAR, 50, "years", WORKERS_1978, "women in worker posts"),
    ("retirement.female_worker.target_age_years", FIRST_YEAR, 55, "years", REFORM_2024, None),
    ("retirement.female_worker.step_every_months", FIRST_YEAR, 2, "months", REFORM_2024, None),
    ("retirement.female_cadre.base_age_years", FIRST_YEAR, 55, "years", CADRES_1978, "women in cadre posts"),
    ("retirement.female_cadre.target_age_years", FIRST_YEAR, 58, "years", REFORM_2024, None),
    ("retirement.female_cadre.step_every_months", FIRST_YEAR, 4, "months", REFORM_2024, None),
    ("pension.average_wage_monthly_fen", 2021, 630_600, "fen", "Zhejiang HRSS yearly base notice " + WAGE_BACK, None),
    ("pension.average_wage_monthly_fen", 2022, 652_700, "fen", "Zhejiang HRSS yearly base notice " + WAGE_BACK, None),
    ("pension.average_wage_monthly_fen", 2023, 675_500, "fen", "Zhejiang HRSS yearly base notice " + WAGE_BACK, None),
    ("medical.resident_adult_yearly_fen", FIRST_YEAR, 68_000, "fen", "Ningbo resident medical insurance " + FEE_BACK,
     None),
    ("medical.resident_minor_yearly_fen", FIRST_YEAR, 43_000, "fen", "Ningbo resident medical insurance " + FEE_BACK,
     None),
    ("medical.employee_points_yearly_fen", FIRST_YEAR, 240_000, "fen",
     "Ningbo points-based medical insurance " + FEE_BACK, None),
]  # fmt: skip
REPLACED = [
    ("working_age.max_years_male", 2022, 60, "years", "statutory retirement age [assumed: before 2025 reform]", None),
    ("working_age.max_years_female", 2022, 55, "years", "statutory retirement age [assumed: before 2025 reform]", None),
]
# rows first in force in 2022 whose source (the 2021-12 notice, a law, a platform decision) holds from 2021-12
CARRIED_BACK_NOTE = "in force from 2021-12 (insurance_0006): the source predates the 2022 row"

COLUMNS = ("name", "effective_year", "value", "unit", "policy_ref", "note")


def _policy_table() -> sa.Table:
    return sa.Table("policy_values", sa.MetaData(), autoload_with=op.get_bind())


def _put(table: sa.Table, figures) -> None:
    op.bulk_insert(table, [dict(zip(COLUMNS, figure, strict=True)) for figure in figures])


def upgrade():
    policy = _policy_table()
    op.execute(policy.delete().where(policy.c.name.in_([row[0] for row in REPLACED])))
    op.execute(
        sa.text(
            "INSERT INTO policy_values (name, effective_year, value, unit, policy_ref, note) "
            "SELECT name, :first, value, unit, policy_ref, :note FROM policy_values WHERE effective_year = 2022 "
            "AND name NOT IN (SELECT name FROM policy_values WHERE effective_year < 2022)"
        ).bindparams(first=FIRST_YEAR, note=CARRIED_BACK_NOTE)
    )
    _put(policy, ADDED)
    with op.batch_alter_table("employment_registrations") as table:
        table.add_column(sa.Column("retirement_category", sa.String(16), nullable=True))


def downgrade():
    policy = _policy_table()
    with op.batch_alter_table("employment_registrations") as table:
        table.drop_column("retirement_category")
    for name, year, *_ in ADDED:
        op.execute(policy.delete().where(policy.c.name == name, policy.c.effective_year == year))
    op.execute(policy.delete().where(policy.c.note == CARRIED_BACK_NOTE))
    _put(policy, REPLACED)
