"""template for the re-certification notice (租赁补贴年度复核: the amount and term the subsidy now runs on), seeded
with placeholder provider codes as 0007 seeded every template, so the fake gateway and both providers work at once

Revision ID: notify_0011
Revises: notify_0010
"""

import hashlib
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "notify_0011"
down_revision = "notify_0010"
branch_labels = None
depends_on = None

TEMPLATE_ID = "subsidy_recertified"
NAME = "租赁补贴复核结果"
BODY = "您的公共租赁住房租赁补贴复核已完成，每月补贴{amount}元，补贴期至{until}。"
VARIABLES = ["amount", "until"]


def tables() -> tuple[sa.Table, sa.Table]:
    """The two tables as the database has them (reflected: a migration's copy of their columns would drift)."""
    metadata = sa.MetaData()
    bind = op.get_bind()
    return (
        sa.Table("templates", metadata, autoload_with=bind),
        sa.Table("provider_templates", metadata, autoload_with=bind),
    )


def upgrade():
    templates, provider_templates = tables()
    op.bulk_insert(templates, [{
        "template_id": TEMPLATE_ID, "version": 1, "name": NAME, "kind": "transactional", "body": BODY,
        "active": True, "created_by": "migration 0010", "created_at": datetime.now(UTC),
    }])  # fmt: skip
    # shaped like 0007's placeholders (SMS_ + digits; digits); production sets the approved codes (update_template)
    number = int(hashlib.sha256(TEMPLATE_ID.encode()).hexdigest()[:12], 16)
    codes = {"aliyun": f"SMS_9{number % 10**8:08d}", "tencent": f"9{number % 10**6:06d}"}
    op.bulk_insert(provider_templates, [
        {"template_id": TEMPLATE_ID, "version": 1, "provider": provider, "code": code, "variables": VARIABLES,
         "allow_links": False}
        for provider, code in codes.items()
    ])  # fmt: skip


def downgrade():
    templates, provider_templates = tables()
    op.execute(provider_templates.delete().where(provider_templates.c.template_id == TEMPLATE_ID))
    op.execute(templates.delete().where(templates.c.template_id == TEMPLATE_ID))
