"""new versions of four templates a resident could not act on: a registration cancelled with its activity
("因活动取消，您的报名已取消"), a held seat that says where to confirm, and an insurance refusal or suspension
that names the office to ask (医保 for medical, 社保 for pension)

Each new version keeps the provider codes of the version before it, so the fake gateway and the log provider
work at once; in production each of these texts is submitted to the providers again and the approved code
set with `update_template` (docs/services/notify.md, "Registering templates").

Revision ID: notify_0008
Revises: notify_0007
"""

import re
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "notify_0008"
down_revision = "notify_0007"
branch_labels = None
depends_on = None

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")

NEW_BODIES = {
    "registration_cancelled": "“{title}”（{time}）：{outcome}。",
    "seat_offered": "“{title}”（{time}）为您保留名额至{hold_until}，请在“我在慈溪”公众号或到服务台确认，逾期顺延。",
    "enrolment_rejected": "{who}的{scheme}参保申请未通过，原因：{reasons}。如有疑问请咨询{office}。",
    "enrolment_suspended": "{who}的{scheme}已暂停，原因：{reason}。如有疑问请咨询{office}。",
}  # fmt: skip

templates = sa.table(
    "templates",
    *(sa.column(name, sa.String) for name in ("template_id", "name", "kind", "body", "wechat_template_id")),
    sa.column("version", sa.Integer),
    sa.column("active", sa.Boolean),
    sa.column("created_by", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
provider_templates = sa.table(
    "provider_templates",
    sa.column("template_id", sa.String),
    sa.column("version", sa.Integer),
    sa.column("provider", sa.String),
    sa.column("code", sa.String),
    sa.column("variables", sa.JSON),
    sa.column("allow_links", sa.Boolean),
)


def upgrade():
    connection = op.get_bind()
    now = datetime.now(UTC)
    for template_id, body in NEW_BODIES.items():
        current = connection.execute(
            sa.select(templates).where(templates.c.template_id == template_id).order_by(templates.c.version.desc())
        ).first()
        if current is None:  # a deployment that deleted the template keeps it deleted
            continue
        version = current.version + 1
        connection.execute(
            templates.insert().values(
                template_id=template_id, version=version, name=current.name, kind=current.kind, body=body,
                wechat_template_id=current.wechat_template_id, active=current.active,
                created_by="migration 0008", created_at=now,
            )
        )  # fmt: skip
        variables = list(dict.fromkeys(PLACEHOLDER.findall(body)))
        codes = connection.execute(
            sa.select(provider_templates).where(
                provider_templates.c.template_id == template_id, provider_templates.c.version == current.version
            )
        ).all()
        for row in codes:
            connection.execute(
                provider_templates.insert().values(
                    template_id=template_id, version=version, provider=row.provider, code=row.code,
                    variables=variables, allow_links=row.allow_links,
                )
            )  # fmt: skip


def downgrade():
    added = sa.select(templates.c.template_id, templates.c.version).where(templates.c.created_by == "migration 0008")
    for template_id, version in op.get_bind().execute(added).all():
        op.execute(
            provider_templates.delete().where(
                provider_templates.c.template_id == template_id, provider_templates.c.version == version
            )
        )
    op.execute(templates.delete().where(templates.c.created_by == "migration 0008"))
