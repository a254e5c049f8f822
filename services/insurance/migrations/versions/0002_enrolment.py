"""persons, employment registrations, enrolments, and the yearly policy table with its seed figures

Revision ID: insurance_0002
Revises: insurance_0001

Every figure marked [assumed] is a typical county-level value not yet checked against the published
notice: replace it with a new migration (a row with the new effective year), never in code.
"""

import sqlalchemy as sa
from alembic import op

revision = "insurance_0002"
down_revision = "insurance_0001"
branch_labels = None
depends_on = None

LIVE = "status IN ('pending', 'active', 'suspended')"

ZJ_FLEXIBLE = "Zhejiang HRSS notice on flexible workers joining enterprise pension where employed (2021-12)"
SEED_2025 = "Cixi New Citizen Service Center, 2025 reply to deputies §2"
NINGBO_NEWBORN = "Ningbo medical-security rule on newborn enrolment (parent's cumulative contributions)"

# (name, effective_year, value, unit, policy_ref, note)
POLICY = [
    # last year's province-wide average wage used for contribution bases in the effective year [assumed]
    ("pension.average_wage_monthly_fen", 2024, 699_200, "fen", "Zhejiang HRSS yearly base notice 2024 [assumed]", None),
    ("pension.average_wage_monthly_fen", 2025, 724_300, "fen", "Zhejiang HRSS yearly base notice 2025 [assumed]", None),
    ("pension.average_wage_monthly_fen", 2026, 743_700, "fen", "Zhejiang HRSS yearly base notice 2026 [assumed]", None),
    ("pension.base_min_pct", 2022, 60, "percent", ZJ_FLEXIBLE, "lowest base, share of the average wage"),
    ("pension.base_max_pct", 2022, 300, "percent", ZJ_FLEXIBLE, "highest base, share of the average wage"),
    ("pension.flexible_rate_pct", 2022, 20, "percent", ZJ_FLEXIBLE, "a flexible worker pays all of it"),
    ("pension.personal_account_pct", 2022, 8, "percent", ZJ_FLEXIBLE, "part of the rate credited to the account"),
    ("pension.employee_rate_pct", 2022, 8, "percent", "State Council 2019 social-insurance rate reduction", None),
    ("pension.employer_rate_pct", 2022, 16, "percent", "State Council 2019 social-insurance rate reduction", None),
    ("employment.registration_deadline_days", 2022, 60, "days", ZJ_FLEXIBLE, "later registrations are flagged"),
    ("employment.min_age_years", 2022, 16, "years", "Labour Law art. 15", None),
    ("working_age.min_years", 2022, 16, "years", "Labour Law art. 15", None),
    ("working_age.max_years_male", 2022, 60, "years", "statutory retirement age [assumed: before 2025 reform]", None),
    ("working_age.max_years_female", 2022, 55, "years", "statutory retirement age [assumed: before 2025 reform]", None),
    ("medical.newborn_max_age_days", 2022, 183, "days", SEED_2025, "0-6 months"),
    ("medical.newborn_parent_min_contribution_months", 2022, 12, "months", NINGBO_NEWBORN, None),
    ("medical.preschool_max_age_years", 2022, 6, "years", SEED_2025 + " [assumed: up to age 6]", None),
    ("medical.resident_adult_yearly_fen", 2024, 68_000, "fen", "Ningbo resident medical insurance [assumed]", None),
    ("medical.resident_minor_yearly_fen", 2024, 43_000, "fen", "Ningbo resident medical insurance [assumed]", None),
    (
        "medical.employee_points_yearly_fen",
        2024,
        240_000,
        "fen",
        "Ningbo points-based medical insurance [assumed]",
        None,
    ),
    ("elderly.min_age_years", 2022, 60, "years", SEED_2025, "elderly-care subsidies, Cixi hukou only"),
    ("coverage.period_months", 2022, 12, "months", "platform decision [assumed]", "length of one coverage period"),
    ("renewal.reminder_days", 2022, 30, "days", "platform decision [assumed]", "remind this long before the end"),
]


def upgrade():
    policy = op.create_table(
        "policy_values",
        sa.Column("name", sa.String(80), primary_key=True),
        sa.Column("effective_year", sa.Integer, primary_key=True),
        sa.Column("value", sa.Numeric(18, 4), nullable=False),
        sa.Column("unit", sa.String(20), nullable=False),
        sa.Column("policy_ref", sa.String(300), nullable=False),
        sa.Column("note", sa.String(300), nullable=True),
    )
    op.create_table(
        "persons",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("resident_id", sa.String(64), nullable=False, unique=True),
        sa.Column("id_index", sa.String(64), nullable=False, unique=True),
        sa.Column("id_number_encrypted", sa.String(512), nullable=False),
        sa.Column("id_number_masked", sa.String(32), nullable=False),
        sa.Column("birth_date", sa.Date, nullable=False),
        sa.Column("sex", sa.String(8), nullable=False),
        sa.Column("hukou", sa.String(16), nullable=False),
        sa.Column("permit_number_encrypted", sa.String(512), nullable=True),
        sa.Column("permit_issued_in_cixi", sa.Boolean, nullable=True),
        sa.Column("permit_valid_until", sa.Date, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "employment_registrations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("persons.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("employer_name", sa.String(200), nullable=True),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("registered_on", sa.Date, nullable=False),
        sa.Column("town", sa.String(20), nullable=False),
        sa.Column("days_after_start", sa.Integer, nullable=False),
        sa.Column("late", sa.Boolean, nullable=False),
        sa.Column("registered_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_employment_registrations_person_id", "employment_registrations", ["person_id"])
    op.create_table(
        "enrolments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("persons.id"), nullable=False),
        sa.Column("guardian_id", sa.Integer, sa.ForeignKey("persons.id"), nullable=True),
        sa.Column("scheme", sa.String(16), nullable=False),
        sa.Column("route", sa.String(24), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("town", sa.String(20), nullable=False),
        sa.Column("policy_year", sa.Integer, nullable=False),
        sa.Column("contribution_base_fen", sa.Integer, nullable=True),
        sa.Column("monthly_contribution_fen", sa.Integer, nullable=True),
        sa.Column("personal_account_fen", sa.Integer, nullable=True),
        sa.Column("employer_contribution_fen", sa.Integer, nullable=True),
        sa.Column("yearly_contribution_fen", sa.Integer, nullable=True),
        sa.Column("policy_ref", sa.Text, nullable=False),
        sa.Column("birth_certificate_encrypted", sa.String(512), nullable=True),
        sa.Column("eligibility", sa.Text, nullable=False),
        sa.Column("requested_start", sa.Date, nullable=True),
        sa.Column("coverage_start", sa.Date, nullable=True),
        sa.Column("coverage_end", sa.Date, nullable=True),
        sa.Column("reminded_for_end", sa.Date, nullable=True),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("submitted_by", sa.String(100), nullable=False),
        sa.Column("decided_by", sa.String(100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "uq_enrolments_live",
        "enrolments",
        ["person_id", "scheme"],
        unique=True,
        sqlite_where=sa.text(LIVE),
        postgresql_where=sa.text(LIVE),
    )
    op.create_index("ix_enrolments_status_end", "enrolments", ["status", "coverage_end"])
    op.bulk_insert(
        policy,
        [
            {"name": n, "effective_year": y, "value": v, "unit": u, "policy_ref": ref, "note": note}
            for n, y, v, u, ref, note in POLICY
        ],
    )


def downgrade():
    op.drop_index("ix_enrolments_status_end", table_name="enrolments")
    op.drop_index("uq_enrolments_live", table_name="enrolments")
    op.drop_table("enrolments")
    op.drop_index("ix_employment_registrations_person_id", table_name="employment_registrations")
    op.drop_table("employment_registrations")
    op.drop_table("persons")
    op.drop_table("policy_values")
