"""subsidy_applications and tenancy_applications: id_number_enc / phone_enc become id_number_encrypted / phone_encrypted

One name for an encrypted column across the services (insurance and notify already say `_encrypted`), so
the audit trail's rule "ciphertext says nothing to a reader, skip it" is one suffix, not two.

Revision ID: housing_0006
Revises: housing_0005
"""

from alembic import op

revision = "housing_0006"
down_revision = "housing_0005"
branch_labels = None
depends_on = None

TABLES = ("subsidy_applications", "tenancy_applications")
RENAMES = (("id_number_enc", "id_number_encrypted"), ("phone_enc", "phone_encrypted"))


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            for old, new in RENAMES:
                batch.alter_column(old, new_column_name=new)


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            for old, new in RENAMES:
                batch.alter_column(new, new_column_name=old)
