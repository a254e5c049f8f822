"""events' own Prometheus gauge, refreshed from the database on a timer (`keep_gauges`), not on a scrape."""

from prometheus_client import Gauge
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.events import models as m

REGISTRATIONS_BY_STATUS = Gauge(
    "newcitizen_events_registrations", "Registrations of scheduled activities by status", ["status"]
)


def refresh(session: Session) -> None:
    counts = dict(
        session.execute(
            select(m.Registration.status, func.count())
            .join(m.Activity, m.Activity.id == m.Registration.activity_id)
            .where(m.Activity.status == m.SCHEDULED)
            .group_by(m.Registration.status)
        ).all()
    )
    session.rollback()
    for status in m.ACTIVE:
        REGISTRATIONS_BY_STATUS.labels(status).set(counts.get(status, 0))
