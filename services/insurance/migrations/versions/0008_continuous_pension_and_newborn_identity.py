"""enterprise pension is continuous: its months paid (pension_contributions) and the unpaid months that
suspend it (pension.arrears_suspend_months [assumed]); a newborn may be known by the birth-certificate number
alone until an ID number is issued (persons.birth_certificate_encrypted, id_number_encrypted nullable)
(docs/policy.md, issue #16 items 1 and 3)

Revision ID: insurance_0008
Revises: insurance_0006
"""

import sqlalchemy as sa
from alembic import op

revision = "insurance_0008"
down_revision = "insurance_0007"
branch_labels = None
depends_on = None

ARREARS = (
    "pension.arrears_suspend_months", 2021, 3, "months",
    "[assumed] no rule in our sources: three months unpaid, the quarter a 社保 office usually allows before it "
    "stops a flexible worker's contributions; to confirm with the office",
    "unpaid months (from the start month to last month) that suspend a flexible worker's pension",
)  # fmt: skip
COLUMNS = ("name", "effective_year", "value", "unit", "policy_ref", "note")


def upgrade():
    op.create_table(
        "pension_contributions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("enrolment_id", sa.String(36), sa.ForeignKey("enrolments.id"), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("amount_fen", sa.Integer, nullable=False),
        sa.Column("paid_on", sa.Date, nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_pension_contributions_enrolment_id", "pension_contributions", ["enrolment_id"])
    op.create_index("uq_pension_contributions_month", "pension_contributions", ["enrolment_id", "month"], unique=True)
    policy = sa.Table("policy_values", sa.MetaData(), autoload_with=op.get_bind())
    op.bulk_insert(policy, [dict(zip(COLUMNS, ARREARS, strict=True))])
    with op.batch_alter_table("persons") as table:
        table.alter_column("id_number_encrypted", existing_type=sa.String(512), nullable=True)
        table.add_column(sa.Column("birth_certificate_encrypted", sa.String(512), nullable=True))


def downgrade():
    persons = sa.table(
        "persons", sa.column("id_number_encrypted", sa.String), sa.column("birth_certificate_encrypted", sa.String)
    )
    # a child known only by a birth certificate keeps its (encrypted) number in the one column left, not lost
    op.execute(
        persons.update()
        .where(persons.c.id_number_encrypted.is_(None))
        .values(id_number_encrypted=persons.c.birth_certificate_encrypted)
    )
    with op.batch_alter_table("persons") as table:
        table.drop_column("birth_certificate_encrypted")
        table.alter_column("id_number_encrypted", existing_type=sa.String(512), nullable=False)
    policy = sa.Table("policy_values", sa.MetaData(), autoload_with=op.get_bind())
    op.execute(policy.delete().where(policy.c.name == ARREARS[0], policy.c.effective_year == ARREARS[1]))
    op.drop_table("pension_contributions")
