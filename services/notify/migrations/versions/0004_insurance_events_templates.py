"""templates for the insurance and events services' notices (seeded)

Revision ID: 0004
Revises: notify_0003
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "notify_0004"
down_revision = "notify_0003"
branch_labels = None
depends_on = None

# The approved texts, all transactional (about the resident's own case or registration). The signature
# 【慈溪新市民】 is prepended when rendering; {names} are placeholders filled by services/notify/*_messages.py.
SEEDED_TEMPLATES = [
    ("enrolment_activated", "参保生效",
     "{who}的{scheme}已参保生效，保障期{start_date}至{end_date}，{contribution}。"),
    ("enrolment_rejected", "参保未通过",
     "{who}的{scheme}参保申请未通过，原因：{reasons}。如有疑问请咨询社保经办机构。"),
    ("enrolment_suspended", "参保暂停",
     "{who}的{scheme}已暂停，原因：{reason}。如有疑问请咨询社保经办机构。"),
    ("enrolment_lapsed", "参保中止",
     "{who}的{scheme}已于{end_date}到期未续保，保障已中止，如需继续参保请尽快办理。"),
    ("renewal_due", "续保提醒",
     "{who}的{scheme}将于{end_date}到期，还有{days_left}天，请及时办理续保。"),
    ("employment_registered_late", "就业登记逾期",
     "您的{registration}已办理，距开始工作（{start_date}）已{days}天，超过规定登记期限，今后请及时办理。"),
    ("registration_confirmed", "活动报名成功",
     "您已成功报名“{title}”，{time}在{venue}，请准时参加。"),
    ("registration_pending", "活动报名待审核",
     "您报名的“{title}”（{time}）已收到，正在审核，结果将短信告知。"),
    ("registration_rejected", "活动报名未通过",
     "您报名的“{title}”（{time}）未通过审核，原因：{reason}。"),
    ("waitlisted", "活动候补",
     "“{title}”（{time}）名额已满，您已进入候补第{position}位，有空位将短信告知。"),
    ("seat_offered", "候补名额保留",
     "“{title}”（{time}）有名额为您保留至{hold_until}，请在此前确认，逾期顺延。"),
    ("offer_expired", "候补名额过期",
     "为您保留的“{title}”（{time}）名额已过期，已顺延给下一位。"),
    ("registration_cancelled", "活动报名取消",
     "您报名的“{title}”（{time}）{outcome}。"),
    ("reminder_due", "活动提醒",
     "提醒：您报名的“{title}”将于{time}在{venue}开始，请准时参加。"),
    ("activity_rescheduled", "活动调整",
     "您报名的“{title}”调整为{time}在{venue}举行，如不能参加请取消报名。"),
]  # fmt: skip

TEMPLATES = sa.table(
    "templates",
    sa.column("template_id", sa.String),
    sa.column("version", sa.Integer),
    sa.column("name", sa.String),
    sa.column("kind", sa.String),
    sa.column("body", sa.Text),
    sa.column("wechat_template_id", sa.String),
    sa.column("active", sa.Boolean),
    sa.column("created_by", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def upgrade():
    now = datetime.now(UTC)
    op.bulk_insert(
        TEMPLATES,
        [
            {
                "template_id": template_id,
                "version": 1,
                "name": name,
                "kind": "transactional",
                "body": body,
                "wechat_template_id": None,
                "active": True,
                "created_by": "migration 0004",
                "created_at": now,
            }
            for template_id, name, body in SEEDED_TEMPLATES
        ],
    )


def downgrade():
    seeded = [template_id for template_id, _, _ in SEEDED_TEMPLATES]
    op.execute(TEMPLATES.delete().where(TEMPLATES.c.template_id.in_(seeded)))
