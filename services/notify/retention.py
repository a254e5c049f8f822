"""What notify keeps about a message once it is final: by default 180 days, then the body, the
personalisation and the encrypted recipient are erased; the record (template, status, segments, masked
phone) stays, and stats' figures never depended on it (they come from events).

A contact (phone, WeChat openid) neither refreshed by a `contact_provided` nor used for a notification for
`RETENTION_DAYS.dormant_contact` (default 2 years) loses both; its preferences stay, and the resident's next
application sends them again. The yearly cycles (re-certification, medical renewal) each touch a contact
they still need within a year."""

from __future__ import annotations

from sqlalchemy import exists, or_, select, update

from services.notify import statuses
from services.notify.models import Contact, Notification, OptOut
from shared.platform.retention import Kept, RetentionRule

ERASED_BODY = "（已按保存期限删除）"
TWO_YEARS = 2 * 365


def _final_notifications_due(cutoff):
    return select(Notification.id).where(
        Notification.status.in_(statuses.FINAL),
        Notification.completed_at < cutoff,
        or_(Notification.body != ERASED_BODY, Notification.recipient_encrypted.is_not(None)),
    )


def _erase(session, ids) -> None:
    session.execute(
        update(Notification)
        .where(Notification.id.in_(ids))
        .values(body=ERASED_BODY, personalisation={}, recipient_encrypted=None, phone_index=None)
    )


def _dormant_contacts_due(cutoff):
    used_since = exists().where(Notification.resident_id == Contact.resident_id, Notification.created_at >= cutoff)
    return select(Contact.resident_id).where(
        Contact.updated_at < cutoff,
        or_(Contact.phone_encrypted.is_not(None), Contact.wechat_openid.is_not(None)),
        ~used_since,
    )


def _erase_contacts(session, ids) -> None:
    session.execute(
        update(Contact)
        .where(Contact.resident_id.in_(ids))
        .values(phone_encrypted=None, phone_index=None, phone_masked=None, wechat_openid=None)
    )


RULES = (
    RetentionRule(
        "notification_content",
        180,
        due=_final_notifications_due,
        erase=_erase,
        description="bodies, personalisation and recipients of final notifications",
        tables=(Notification.__tablename__,),
    ),
    RetentionRule(
        "dormant_contact",
        TWO_YEARS,
        due=_dormant_contacts_due,
        erase=_erase_contacts,
        description="phones and WeChat openids of contacts neither refreshed nor used for a notification",
        tables=(Contact.__tablename__,),
    ),
    # erasing an opt-out would start messaging someone who asked us to stop; it holds only a keyed index
    Kept(
        "opt_outs",
        "kept: an opt-out is honoured for as long as we send",
        "keyed phone indexes that opted out",
        tables=(OptOut.__tablename__,),
    ),
)
