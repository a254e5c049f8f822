"""A big disbursement through the running service: every `subsidy_disbursed` event reaches the broker once.

The relay publishes the run's events while the sweep also looks for unpublished rows; the sweep must not
publish the rows the relay is still working through (consumers would cope, but every copy costs).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench.housing_disbursement import seed
from shared.platform.db import make_engine
from shared.platform.models import OutboxMessage
from tests.support.waiting import wait_for

SUBSIDIES = 3000


def test_each_disbursed_event_is_published_once(housing, housing_clock, call, events):
    housing_clock.frozen = datetime(2025, 6, 15, 4, tzinfo=UTC)  # 2025-06 is due
    engine = make_engine(housing["DATABASE_URL"])
    with Session(engine) as session:
        seed(session, SUBSIDIES)  # approved subsidies for 2025-01 .. 2025-12
    result = call("ops", "admin").run_disbursement("2025-06")
    assert result["paid"] == SUBSIDIES

    def unpublished() -> int:
        with Session(engine) as session:
            return session.scalar(select(func.count()).where(OutboxMessage.published_at.is_(None)))

    wait_for(lambda: unpublished() == 0, timeout=120, what="every disbursement published")
    engine.dispose()
    events.drain(until=lambda seen: len(seen) >= SUBSIDIES, timeout=60)
    seen = events.drain(timeout=2.0)  # any copy would arrive now
    disbursed = [event["event_id"] for event in seen if event["event_type"] == "subsidy_disbursed"]
    assert len(set(disbursed)) == SUBSIDIES
    assert len(disbursed) == SUBSIDIES  # no copies from the sweep racing the relay
