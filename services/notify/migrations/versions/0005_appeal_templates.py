"""templates for the appeal notices (复核申请: received, upheld, dismissed), seeded

Revision ID: notify_0005
Revises: notify_0004
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "notify_0005"
down_revision = "notify_0004"
branch_labels = None
depends_on = None

# Transactional: about the resident's own appeal. {case} is e.g. 租赁补贴申请 or 子女参保申请
# (services/notify/appeal_messages.py); the signature is prepended when rendering.
SEEDED_TEMPLATES = [
    ("appeal_received", "复核申请受理", "已收到您对{case}的复核申请，将于{due_on}前作出复核决定。"),
    ("appeal_upheld", "复核申请获支持", "您对{case}的复核申请已获支持，原决定撤销，理由：{reasons}。"),
    ("appeal_dismissed", "复核维持原决定",
     "您对{case}的复核申请经复核维持原决定，理由：{reasons}。如有异议可依法申请行政复议。"),
]  # fmt: skip

templates = sa.table(
    "templates",
    *(sa.column(name, sa.String) for name in ("template_id", "name", "kind", "body", "created_by")),
    sa.column("version", sa.Integer),
    sa.column("active", sa.Boolean),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def upgrade():
    now = datetime.now(UTC)
    rows = [
        {"template_id": template_id, "version": 1, "name": name, "kind": "transactional", "body": body,
         "active": True, "created_by": "migration 0005", "created_at": now}
        for template_id, name, body in SEEDED_TEMPLATES
    ]  # fmt: skip
    op.bulk_insert(templates, rows)


def downgrade():
    op.execute(templates.delete().where(templates.c.template_id.in_([row[0] for row in SEEDED_TEMPLATES])))
