"""enterprise pension is continuous (no period end, never renewed): a new version of the activation notice that
says "按月缴费，持续参保至退休或转出" for pension and the period for medical, and a notice when an enrolment ends
(on retirement, transfer out, …), seeded with placeholder provider codes as 0007 seeded every template

The new version of `enrolment_activated` keeps its version's provider codes, as 0008 did; in production each
text is submitted to the providers again and the approved code set with `update_template`.

Revision ID: notify_0015
Revises: notify_0011
"""

import hashlib
import re
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "notify_0015"
down_revision = "notify_0014"
branch_labels = None
depends_on = None

CREATED_BY = "migration 0015"
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
NEW_BODIES = {"enrolment_activated": "{who}的{scheme}已参保生效，{coverage}，{contribution}。"}
ADDED = ("enrolment_ended", "参保终止", "{who}的{scheme}参保已终止，原因：{reason}。如有疑问请咨询{office}。")


def tables() -> tuple[sa.Table, sa.Table]:
    """The two tables as the database has them (reflected: a migration's copy of their columns would drift)."""
    metadata = sa.MetaData()
    bind = op.get_bind()
    return (
        sa.Table("templates", metadata, autoload_with=bind),
        sa.Table("provider_templates", metadata, autoload_with=bind),
    )


def _variables(body: str) -> list[str]:
    return list(dict.fromkeys(PLACEHOLDER.findall(body)))


def upgrade():
    templates, provider_templates = tables()
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
                created_by=CREATED_BY, created_at=now,
            )
        )  # fmt: skip
        codes = connection.execute(
            sa.select(provider_templates).where(
                provider_templates.c.template_id == template_id, provider_templates.c.version == current.version
            )
        ).all()
        for row in codes:
            connection.execute(
                provider_templates.insert().values(
                    template_id=template_id, version=version, provider=row.provider, code=row.code,
                    variables=_variables(body), allow_links=row.allow_links,
                )
            )  # fmt: skip
    template_id, name, body = ADDED
    op.bulk_insert(templates, [{
        "template_id": template_id, "version": 1, "name": name, "kind": "transactional", "body": body,
        "active": True, "created_by": CREATED_BY, "created_at": now,
    }])  # fmt: skip
    # shaped like 0007's placeholders (SMS_ + digits; digits); production sets the approved codes (update_template)
    number = int(hashlib.sha256(template_id.encode()).hexdigest()[:12], 16)
    codes = {"aliyun": f"SMS_9{number % 10**8:08d}", "tencent": f"9{number % 10**6:06d}"}
    op.bulk_insert(provider_templates, [
        {"template_id": template_id, "version": 1, "provider": provider, "code": code, "variables": _variables(body),
         "allow_links": False}
        for provider, code in codes.items()
    ])  # fmt: skip


def downgrade():
    templates, provider_templates = tables()
    added = sa.select(templates.c.template_id, templates.c.version).where(templates.c.created_by == CREATED_BY)
    for template_id, version in op.get_bind().execute(added).all():
        op.execute(
            provider_templates.delete().where(
                provider_templates.c.template_id == template_id, provider_templates.c.version == version
            )
        )
    op.execute(templates.delete().where(templates.c.created_by == CREATED_BY))
