"""notify's own Prometheus gauge, refreshed from the database on a timer (`keep_gauges`), not on a scrape."""

from prometheus_client import Gauge
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.notify import statuses
from services.notify.models import Notification

NOTIFICATIONS = Gauge("newcitizen_notify_notifications", "Notifications by status", ["status"])


def refresh(session: Session) -> None:
    counts = dict(session.execute(select(Notification.status, func.count()).group_by(Notification.status)).all())
    session.rollback()
    for status in statuses.ALL:
        NOTIFICATIONS.labels(status).set(counts.get(status, 0))
