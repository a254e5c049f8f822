"""What notify keeps about a message once it is final: by default 180 days, then the body, the
personalisation and the encrypted recipient are erased; the record (template, status, segments, masked
phone) stays, and stats' figures never depended on it (they come from events)."""

from __future__ import annotations

from sqlalchemy import or_, select, update

from services.notify import statuses
from services.notify.models import Notification, OptOut
from shared.retention import Kept, RetentionRule

ERASED_BODY = "（已按保存期限删除）"


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


RULES = (
    RetentionRule(
        "notification_content",
        180,
        due=_final_notifications_due,
        erase=_erase,
        description="bodies, personalisation and recipients of final notifications",
        tables=(Notification.__tablename__,),
    ),
    # erasing an opt-out would start messaging someone who asked us to stop; it holds only a keyed index
    Kept(
        "opt_outs",
        "kept: an opt-out is honoured for as long as we send",
        "keyed phone indexes that opted out",
        tables=(OptOut.__tablename__,),
    ),
)
