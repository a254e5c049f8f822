"""insurance's own Prometheus gauges, refreshed from the database on a timer (`keep_gauges`), not on a scrape."""

from prometheus_client import Gauge
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.insurance.models import Enrolment

ENROLMENTS = Gauge(
    "newcitizen_insurance_enrolments", "Enrolments by scheme, route and status", ["scheme", "route", "status"]
)


def refresh(session: Session) -> None:
    rows = session.execute(
        select(Enrolment.scheme, Enrolment.route, Enrolment.status, func.count()).group_by(
            Enrolment.scheme, Enrolment.route, Enrolment.status
        )
    ).all()
    session.rollback()
    ENROLMENTS.clear()  # a combination that has dropped to zero must not keep its old value
    for scheme, route, status, count in rows:
        ENROLMENTS.labels(scheme, route, status).set(count)
