"""housing tables: policy versions (seeded), subsidy applications, disbursements, 保租房, operator subsidies

Revision ID: housing_0002
Revises: housing_0001
"""

import json
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

revision = "housing_0002"
down_revision = "housing_0001"
branch_labels = None
depends_on = None

# Every value below is [assumed] (domain.md §1) unless marked: officials change them by adding a row
# with a later effective_from, never by editing code.
_AREA_BY_HOUSEHOLD = {"1": 15, "2": 25, "3": 35, "4": 40, "5": 45, "6": 50, "7": 50, "8": 50, "9": 50, "10": 50}
_COEFFICIENTS_2019 = {"new_graduate": 1000, "talent": 1200, "outstanding_migrant": 1000}
SEED_POLICIES = [
    (
        "rent_subsidy",
        date(2019, 1, 1),
        "慈溪市公共租赁住房租赁补贴扩面至外来务工人员家庭 (2019) [assumed amounts]",
        {
            "eligible_categories": ["new_graduate", "talent", "outstanding_migrant"],
            "min_age": 18,
            "require_residence_permit": True,
            "require_no_home_in_cixi": True,
            "require_employment_in_cixi": True,
            "standard_fen_per_m2": 1500,
            "guaranteed_area_m2": _AREA_BY_HOUSEHOLD,
            "tier_coefficient_permille": _COEFFICIENTS_2019,
            "term_months": 12,
        },
    ),
    (
        "rent_subsidy",
        date(2023, 1, 1),
        "宁波市 2022/2023 规定: 增加城市基本运行重点行业一线人员 [seed]; amounts [assumed]",
        {
            "eligible_categories": ["new_graduate", "talent", "outstanding_migrant", "frontline_worker"],
            "min_age": 18,
            "require_residence_permit": True,
            "require_no_home_in_cixi": True,
            "require_employment_in_cixi": True,
            "standard_fen_per_m2": 1500,
            "guaranteed_area_m2": _AREA_BY_HOUSEHOLD,
            "tier_coefficient_permille": {**_COEFFICIENTS_2019, "frontline_worker": 900},
            "term_months": 12,
        },
    ),
    (
        "tenancy",
        date(2022, 1, 1),
        "保障性租赁住房准入与租金规则 (慈溪) [assumed]",
        {
            "min_age": 18,
            "require_no_home_in_cixi": True,
            "require_employment_in_cixi": True,
            "require_residence_permit_unless_local": True,
            "rent_cap_permille": 900,
            "max_annual_increase_permille": 50,
            "lease_months": 36,
            "max_unit_area_m2": 70,
        },
    ),
    (
        "operator_subsidy",
        date(2024, 1, 1),
        "保障性租赁住房运营奖补 2024 (34 projects, ~6,622 units, 3.8044 million yuan [seed]); 10 yuan/㎡/yr [assumed]",
        {
            "basis": "per_m2",
            "per_m2_fen": 1000,
            "min_occupancy_permille": 800,
            "require_rent_cap": True,
            "cap_per_project_fen": 50000000,
        },
    ),
    (
        "operator_subsidy",
        date(2025, 1, 1),
        "保障性租赁住房运营奖补 2025 (planned ~50 projects, ~9,000 units, 10 million yuan [seed]); rate [assumed]",
        {
            "basis": "per_unit",
            "per_unit_fen": 111100,
            "min_occupancy_permille": 800,
            "require_rent_cap": True,
            "cap_per_project_fen": 100000000,
        },
    ),
]

_APPLICANT_COLUMNS = (
    ("resident_id", sa.String(64), False),
    ("id_number_enc", sa.Text, False),
    ("id_number_masked", sa.String(18), False),
    ("name", sa.String(50), False),
    ("phone_enc", sa.Text, False),
    ("phone_index", sa.String(64), False),
    ("phone_masked", sa.String(11), False),
    ("town", sa.String(20), False),
    ("submitted_by", sa.String(100), False),
    ("owner_subject", sa.String(100), True),
    ("submitted_at", sa.DateTime(timezone=True), False),
    ("reasons", sa.Text, False),
)


def _applicant_columns():
    return [sa.Column(name, kind, nullable=nullable) for name, kind, nullable in _APPLICANT_COLUMNS]


def _applicant_indexes(table):
    for column in ("resident_id", "phone_index", "owner_subject"):
        op.create_index(f"ix_{table}_{column}", table, [column])


def upgrade():
    policies = op.create_table(
        "policy_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("programme", sa.String(40), nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("policy_ref", sa.String(200), nullable=False),
        sa.Column("rules", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("programme", "effective_from", name="uq_policy_programme_from"),
    )
    op.create_table(
        "open_cases",
        sa.Column("resident_id", sa.String(64), primary_key=True),
        sa.Column("programme", sa.String(20), nullable=False),
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "subsidy_applications",
        sa.Column("id", sa.String(36), primary_key=True),
        *_applicant_columns(),
        sa.Column("category", sa.String(30), nullable=False),
        sa.Column("household_size", sa.Integer, nullable=False),
        sa.Column("monthly_rent_fen", sa.Integer, nullable=False),
        sa.Column("has_residence_permit", sa.Boolean, nullable=False),
        sa.Column("owns_home_in_cixi", sa.Boolean, nullable=False),
        sa.Column("employed_in_cixi", sa.Boolean, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("eligibility_policy_id", sa.Integer, sa.ForeignKey("policy_versions.id"), nullable=False),
        sa.Column("appealed_by", sa.String(100), nullable=True),
        sa.Column("appeal_note", sa.Text, nullable=True),
        sa.Column("reviewed_by", sa.String(100), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text, nullable=True),
        sa.Column("monthly_subsidy_fen", sa.Integer, nullable=True),
        sa.Column("policy_id", sa.Integer, sa.ForeignKey("policy_versions.id"), nullable=True),
        sa.Column("policy_ref", sa.String(200), nullable=True),
        sa.Column("start_period", sa.String(7), nullable=True),
        sa.Column("end_period", sa.String(7), nullable=True),
        sa.Column("recertified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(200), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    _applicant_indexes("subsidy_applications")
    op.create_index("ix_subsidy_applications_status", "subsidy_applications", ["status"])
    op.create_index("ix_subsidy_active", "subsidy_applications", ["status", "start_period", "end_period"])
    op.create_table(
        "disbursements",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("application_id", sa.String(36), sa.ForeignKey("subsidy_applications.id"), nullable=False),
        sa.Column("resident_id", sa.String(64), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("amount_fen", sa.Integer, nullable=False),
        sa.Column("policy_id", sa.Integer, sa.ForeignKey("policy_versions.id"), nullable=True),
        sa.Column("disbursed_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("period", "resident_id", name="uq_disbursement_period_household"),
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("operator", sa.String(100), nullable=False),
        sa.Column("town", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("year_raised", sa.Integer, nullable=False),
        sa.Column("planned_units", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "units",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(36), sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("unit_no", sa.String(30), nullable=False),
        sa.Column("area_m2", sa.Numeric(8, 2), nullable=False),
        sa.Column("monthly_rent_fen", sa.Integer, nullable=False),
        sa.Column("market_rent_fen", sa.Integer, nullable=False),
        sa.Column("rent_policy_id", sa.Integer, sa.ForeignKey("policy_versions.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("listed_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("project_id", "unit_no", name="uq_unit_project_no"),
    )
    op.create_index("ix_units_project_id", "units", ["project_id"])
    op.create_index("ix_units_status", "units", ["status"])
    op.create_table(
        "tenancy_applications",
        sa.Column("id", sa.String(36), primary_key=True),
        *_applicant_columns(),
        sa.Column("household_size", sa.Integer, nullable=False),
        sa.Column("is_local_hukou", sa.Boolean, nullable=False),
        sa.Column("has_residence_permit", sa.Boolean, nullable=False),
        sa.Column("owns_home_in_cixi", sa.Boolean, nullable=False),
        sa.Column("employed_in_cixi", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("eligibility_policy_id", sa.Integer, sa.ForeignKey("policy_versions.id"), nullable=False),
    )
    _applicant_indexes("tenancy_applications")
    op.create_index("ix_tenancy_applications_status", "tenancy_applications", ["status"])
    op.create_table(
        "tenancies",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "application_id", sa.String(36), sa.ForeignKey("tenancy_applications.id"), nullable=False, unique=True
        ),
        sa.Column("unit_id", sa.String(36), sa.ForeignKey("units.id"), nullable=False),
        sa.Column("project_id", sa.String(36), sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("resident_id", sa.String(64), nullable=False),
        sa.Column("town", sa.String(20), nullable=False),
        sa.Column("monthly_rent_fen", sa.Integer, nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("allocated_by", sa.String(100), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(200), nullable=True),
    )
    op.create_index("ix_tenancies_unit_id", "tenancies", ["unit_id"])
    op.create_index("ix_tenancies_resident_id", "tenancies", ["resident_id"])
    op.create_table(
        "operator_assessments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(36), sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("units", sa.Integer, nullable=False),
        sa.Column("occupied_units", sa.Integer, nullable=False),
        sa.Column("area_m2", sa.Numeric(12, 2), nullable=False),
        sa.Column("amount_fen", sa.Integer, nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("policy_id", sa.Integer, sa.ForeignKey("policy_versions.id"), nullable=False),
        sa.Column("policy_ref", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("assessed_by", sa.String(100), nullable=False),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by", sa.String(100), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text, nullable=True),
        sa.UniqueConstraint("project_id", "year", name="uq_operator_assessment_project_year"),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        policies,
        [
            {
                "programme": programme,
                "effective_from": effective_from,
                "policy_ref": ref,
                "rules": json.dumps(rules, ensure_ascii=False, sort_keys=True),
                "created_at": now,
            }
            for programme, effective_from, ref, rules in SEED_POLICIES
        ],
    )


def downgrade():
    for table in (
        "operator_assessments",
        "tenancies",
        "tenancy_applications",
        "units",
        "projects",
        "disbursements",
        "subsidy_applications",
        "open_cases",
        "policy_versions",
    ):
        op.drop_table(table)
