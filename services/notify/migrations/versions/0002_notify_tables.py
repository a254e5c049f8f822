"""contacts, opt-outs, templates (seeded), notifications, broadcasts

Revision ID: notify_0002
Revises: notify_0001
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "notify_0002"
down_revision = "notify_0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)

# The approved texts. The signature 【慈溪新市民】 is prepended when rendering; {names} are placeholders.
SEEDED_TEMPLATES = [
    ("subsidy_approved", "租赁补贴获批", "transactional",
     "您的公共租赁住房租赁补贴申请已获批准，每月补贴{amount}元，将按月发放。"),
    ("subsidy_rejected", "租赁补贴未获批", "transactional",
     "您的公共租赁住房租赁补贴申请未获批准，原因：{reasons}。如有疑问请咨询慈溪市新市民服务中心。"),
    ("subsidy_disbursed", "租赁补贴发放", "transactional",
     "您{period}的租赁补贴{amount}元已发放，请注意查收。"),
    ("subsidy_ended", "租赁补贴终止", "transactional",
     "您的公共租赁住房租赁补贴已于{date}终止，原因：{reason}。如有疑问请咨询慈溪市新市民服务中心。"),
    ("tenancy_started", "保租房租约生效", "transactional",
     "您承租的保障性租赁住房租约已生效，租期{start_date}至{end_date}，月租金{rent}元。"),
    ("tenancy_ended", "保租房租约结束", "transactional",
     "您承租的保障性租赁住房租约已于{date}结束，原因：{reason}。"),
    ("policy_notice", "新市民政策提醒", "promotional",
     "新市民政策提醒：{title}，详情请关注“我在慈溪”公众号。回T退订"),
]  # fmt: skip


def upgrade():
    op.create_table(
        "contacts",
        sa.Column("resident_id", sa.String(64), primary_key=True),
        sa.Column("phone_encrypted", sa.String(512), nullable=True),
        sa.Column("phone_index", sa.String(64), nullable=True),
        sa.Column("phone_masked", sa.String(20), nullable=True),
        sa.Column("wechat_openid", sa.String(64), nullable=True),
        sa.Column("preferred_channel", sa.String(10), nullable=False, server_default="sms"),
        sa.Column("promo_consent", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("town", sa.String(40), nullable=True),
        sa.Column("category", sa.String(40), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_index("ix_contacts_phone_index", "contacts", ["phone_index"])
    op.create_index("ix_contacts_segment", "contacts", ["town", "category", "resident_id"])
    op.create_table(
        "opt_outs",
        sa.Column("phone_index", sa.String(64), primary_key=True),
        sa.Column("keyword", sa.String(10), nullable=False),
        sa.Column("opted_out_at", TZ, nullable=False),
    )
    templates = op.create_table(
        "templates",
        sa.Column("template_id", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("wechat_template_id", sa.String(64), nullable=True),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("dedupe_key", sa.String(120), nullable=False, unique=True),
        sa.Column("source_event_id", sa.String(36), nullable=True),
        sa.Column("broadcast_id", sa.String(36), nullable=True),
        sa.Column("fallback_of", sa.String(36), nullable=True),
        sa.Column("resident_id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("template_id", sa.String(64), nullable=False),
        sa.Column("template_version", sa.Integer, nullable=False),
        sa.Column("personalisation", sa.JSON, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("billed_length", sa.Integer, nullable=False),
        sa.Column("segments", sa.Integer, nullable=False),
        sa.Column("recipient_encrypted", sa.String(512), nullable=True),
        sa.Column("phone_index", sa.String(64), nullable=True),
        sa.Column("phone_masked", sa.String(20), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("hold_reason", sa.String(40), nullable=True),
        sa.Column("next_attempt_at", TZ, nullable=True),
        sa.Column("lease_until", TZ, nullable=True),
        sa.Column("lease_owner", sa.String(36), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("provider", sa.String(20), nullable=True),
        sa.Column("provider_ref", sa.String(64), nullable=True),
        sa.Column("failure_reason", sa.String(200), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("sent_at", TZ, nullable=True),
        sa.Column("completed_at", TZ, nullable=True),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_index("ix_notifications_due", "notifications", ["next_attempt_at"])
    op.create_index("ix_notifications_sending", "notifications", ["status", "sent_at"])
    op.create_index("ix_notifications_resident", "notifications", ["resident_id", "created_at"])
    op.create_index("ix_notifications_phone", "notifications", ["phone_index", "template_id", "sent_at"])
    op.create_index("ix_notifications_broadcast", "notifications", ["broadcast_id", "status"])
    op.create_index("ix_notifications_provider_ref", "notifications", ["provider_ref"])
    op.create_table(
        "early_receipts",
        sa.Column("key", sa.String(120), primary_key=True),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("out_id", sa.String(80), nullable=True),
        sa.Column("provider_ref", sa.String(80), nullable=True),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("received_at", TZ, nullable=False),
    )
    op.create_index("ix_early_receipts_received_at", "early_receipts", ["received_at"])
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("template_id", sa.String(64), nullable=False),
        sa.Column("template_version", sa.Integer, nullable=False),
        sa.Column("segment", sa.JSON, nullable=False),
        sa.Column("personalisation", sa.JSON, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("segments", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("cursor", sa.String(64), nullable=False, server_default=""),
        sa.Column("expected", sa.Integer, nullable=False, server_default="0"),
        sa.Column("recorded", sa.Integer, nullable=False, server_default="0"),
        sa.Column("lease_until", TZ, nullable=True),
        sa.Column("lease_owner", sa.String(36), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("recorded_at", TZ, nullable=True),
        sa.Column("completed_at", TZ, nullable=True),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        templates,
        [
            {
                "template_id": template_id,
                "version": 1,
                "name": name,
                "kind": kind,
                "body": body,
                "wechat_template_id": None,
                "active": True,
                "created_by": "migration notify_0002",
                "created_at": now,
            }
            for template_id, name, kind, body in SEEDED_TEMPLATES
        ],
    )


def downgrade():
    op.drop_table("broadcasts")
    op.drop_index("ix_early_receipts_received_at", table_name="early_receipts")
    op.drop_table("early_receipts")
    op.drop_index("ix_notifications_provider_ref", table_name="notifications")
    op.drop_index("ix_notifications_broadcast", table_name="notifications")
    op.drop_index("ix_notifications_phone", table_name="notifications")
    op.drop_index("ix_notifications_resident", table_name="notifications")
    op.drop_index("ix_notifications_sending", table_name="notifications")
    op.drop_index("ix_notifications_due", table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("templates")
    op.drop_table("opt_outs")
    op.drop_index("ix_contacts_segment", table_name="contacts")
    op.drop_index("ix_contacts_phone_index", table_name="contacts")
    op.drop_table("contacts")
