"""provider_templates (each template version's approved code and ordered variables per SMS provider,
seeded with placeholder codes for every template), sms_usage (segments per provider per day),
notifications.held_by (the provider that may hold the current out_id: its retry goes nowhere else)

The placeholder codes let `NOTIFY_SMS_PROVIDER=aliyun` or `tencent` run against the fake gateway with no
further step; in production each is replaced by the code the provider approved (`update_template`).

Revision ID: notify_0007
Revises: notify_0006
"""

import hashlib
import re

import sqlalchemy as sa
from alembic import op

revision = "notify_0007"
down_revision = "notify_0006"
branch_labels = None
depends_on = None

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


def placeholder_codes(template_id: str) -> dict[str, str]:
    """Stable per template, shaped like each provider's codes (SMS_ + digits; digits)."""
    number = int(hashlib.sha256(template_id.encode()).hexdigest()[:12], 16)
    return {"aliyun": f"SMS_9{number % 10**8:08d}", "tencent": f"9{number % 10**6:06d}"}


def upgrade():
    op.add_column("notifications", sa.Column("held_by", sa.String(20), nullable=True))
    # a row waiting to retry after a technical failure went to the only provider there was
    notifications = sa.table(
        "notifications",
        sa.column("held_by", sa.String),
        sa.column("provider", sa.String),
        sa.column("status", sa.String),
    )
    op.execute(
        notifications.update()
        .where(notifications.c.status == "technical-failure")
        .values(held_by=notifications.c.provider)
    )
    provider_templates = op.create_table(
        "provider_templates",
        sa.Column("template_id", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("provider", sa.String(20), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("variables", sa.JSON, nullable=False),
        sa.Column("allow_links", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "sms_usage",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("provider", sa.String(20), primary_key=True),
        sa.Column("messages", sa.Integer, nullable=False, server_default="0"),
        sa.Column("segments", sa.Integer, nullable=False, server_default="0"),
    )
    templates = sa.table(
        "templates", sa.column("template_id", sa.String), sa.column("version", sa.Integer), sa.column("body", sa.Text)
    )
    rows = []
    for template_id, version, body in op.get_bind().execute(sa.select(templates)).all():
        variables = list(dict.fromkeys(PLACEHOLDER.findall(body)))
        for provider, code in placeholder_codes(template_id).items():
            rows.append({"template_id": template_id, "version": version, "provider": provider, "code": code,
                         "variables": variables, "allow_links": False})  # fmt: skip
    if rows:
        op.bulk_insert(provider_templates, rows)


def downgrade():
    op.drop_table("sms_usage")
    op.drop_table("provider_templates")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("held_by")
