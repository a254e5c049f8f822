"""policy_versions takes the shared policy store's shape (shared/platform/policy_store.py): `programme` becomes `name`,
`rules` becomes `value` (the same JSON document), a `unit` (`document`) is added and `policy_ref` holds 300
characters. Every row keeps its id, so the ids recorded on cases, amounts and assessments still point at it.

Revision ID: housing_0009
Revises: housing_0010
"""

import sqlalchemy as sa
from alembic import op

revision = "housing_0009"
down_revision = "housing_0010"
branch_labels = None
depends_on = None


def _ref_length(length: int) -> None:
    # SQLite keeps no VARCHAR length (and altering a type would copy the table every case points at)
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("policy_versions", "policy_ref", type_=sa.String(length), existing_nullable=False)


def upgrade():
    op.alter_column("policy_versions", "programme", new_column_name="name", existing_type=sa.String(40))
    op.alter_column("policy_versions", "rules", new_column_name="value", existing_type=sa.Text)
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("policy_versions", "name", type_=sa.String(80), existing_nullable=False)
    op.add_column("policy_versions", sa.Column("unit", sa.String(20), nullable=False, server_default="document"))
    _ref_length(300)


def downgrade():
    _ref_length(200)
    op.drop_column("policy_versions", "unit")
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("policy_versions", "name", type_=sa.String(40), existing_nullable=False)
    op.alter_column("policy_versions", "value", new_column_name="rules", existing_type=sa.Text)
    op.alter_column("policy_versions", "name", new_column_name="programme", existing_type=sa.String(40))
