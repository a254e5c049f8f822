"""Money is paid when it is due: `run_disbursement` on a running housing service (SQLite and PostgreSQL) with a
frozen clock, both sides of every boundary (Asia/Shanghai midnights, month and year ends, a leap February).

A normal run pays the current period, or the next from `DISBURSEMENT_EARLY_DAYS` (5 here) before its 1st; a
backfill pays only periods before go-live and before the current one. A refused run writes nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench.housing_disbursement import seed
from services.housing.models import Disbursement
from services.housing.pay_periods import PaySchedule
from services.housing.service import HousingService
from shared.platform.clock import Clock
from shared.platform.db import make_engine
from shared.platform.errors import ValidationError
from tests.support.databases import migrate

SHANGHAI_OFFSET = timedelta(hours=8)


def cixi(day: str, clock_time: str = "00:00:00") -> datetime:
    """A Cixi wall-clock moment (UTC+8, no daylight saving) as aware UTC."""
    return datetime.fromisoformat(f"{day}T{clock_time}").replace(tzinfo=UTC) - SHANGHAI_OFFSET


def last_second_of(day: str) -> datetime:
    return cixi(day, "23:59:59")


@pytest.fixture
def start_housing(db_url, service_config, container_factory, token_for):
    """A housing service with 3 subsidies active 2025-01 … 2025-12; returns (admin proxy, clock, paid count)."""
    migrate("housing", db_url)
    engine = make_engine(db_url)
    with Session(engine) as session:
        seed(session, 3)
    proxies = []

    def start(**config):
        container = container_factory(HousingService, service_config(db_url, DISBURSEMENT_EARLY_DAYS=5, **config))
        container.start()
        proxy = ServiceRpcProxy("housing", container.config, context_data={"authorization": token_for("ops", "admin")})
        proxies.append(proxy)
        clock = next(dep for dep in container.dependencies if isinstance(dep, Clock))
        return proxy.start(), clock, lambda: paid(engine)

    yield start
    for proxy in proxies:
        proxy.stop()
    engine.dispose()


def paid(engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Disbursement))


def refused(admin, period: str, backfill: bool = False) -> str:
    with pytest.raises(ValidationError) as caught:
        admin.run_disbursement(period, backfill=backfill)
    assert set(caught.value.errors) == {"period"}
    return caught.value.errors["period"][0]


def test_a_normal_run_pays_the_current_period_or_the_next_from_five_days_before_its_first(start_housing):
    admin, clock, payments = start_housing()
    clock.frozen = last_second_of("2025-05-26")  # 2025-06-01 minus 5 days is 05-27
    message = refused(admin, "2025-06")
    assert "only 2025-05 today (2025-05-26); 2025-06 from 2025-05-27" in message
    assert payments() == 0  # nothing half-written
    clock.frozen = cixi("2025-05-27")
    assert admin.run_disbursement("2025-06")["paid"] == 3
    assert admin.run_disbursement("2025-05")["paid"] == 3  # the current period, still
    assert "only 2025-05 or 2025-06 today" in refused(admin, "2025-07")
    assert "only 2025-05 or 2025-06" in refused(admin, "2099-12")
    assert "only 2025-05 or 2025-06" in refused(admin, "2025-04")  # a past month is no longer a normal run
    clock.frozen = cixi("2025-06-01")
    assert "only 2025-06 today" in refused(admin, "2025-05")
    assert payments() == 6


@pytest.mark.parametrize(
    ("before", "opens", "period"),
    [
        ("2025-01-26", "2025-01-27", "2025-02"),  # after a 31-day month
        ("2025-02-23", "2025-02-24", "2025-03"),  # after February
        ("2024-02-24", "2024-02-25", "2024-03"),  # after a leap February
        ("2025-11-25", "2025-11-26", "2025-12"),  # after a 30-day month
        ("2025-12-26", "2025-12-27", "2026-01"),  # across the year end
    ],
)
def test_the_next_period_opens_at_midnight_in_cixi_whatever_the_month(before, opens, period):
    schedule = PaySchedule(early_days=5)
    assert period not in schedule.payable(date.fromisoformat(before))
    assert period in schedule.payable(date.fromisoformat(opens))
    with pytest.raises(ValidationError):
        schedule.check(period, False, date.fromisoformat(before))
    schedule.check(period, False, date.fromisoformat(opens))


def test_a_backfill_records_only_periods_before_go_live(start_housing):
    admin, clock, payments = start_housing(DISBURSEMENT_GO_LIVE="2025-07-01")
    clock.frozen = cixi("2025-09-15")
    assert admin.run_disbursement("2025-06", backfill=True)["paid"] == 3
    message = refused(admin, "2025-07", backfill=True)
    assert "only periods up to 2025-06 (before go-live on 2025-07-01" in message
    refused(admin, "2025-09", backfill=True)  # the current period, never messaged: refused
    refused(admin, "2099-12", backfill=True)
    assert payments() == 3


def test_a_backfill_never_reaches_the_current_period_even_with_go_live_ahead(start_housing):
    admin, clock, payments = start_housing(DISBURSEMENT_GO_LIVE="2030-01-01")
    clock.frozen = last_second_of("2025-05-31")
    assert "only periods up to 2025-04" in refused(admin, "2025-05", backfill=True)
    clock.frozen = cixi("2025-06-01")  # a Cixi midnight: 2025-05 is now the past
    assert admin.run_disbursement("2025-05", backfill=True)["paid"] == 3
    assert "up to 2025-05" in refused(admin, "2025-06", backfill=True)
    assert payments() == 3


def test_the_go_live_default_is_after_the_demo_history():
    schedule = PaySchedule.from_config({})
    assert schedule.last_backfill(date(2026, 3, 1)) == "2024-12"
    assert PaySchedule.from_config({"DISBURSEMENT_GO_LIVE": date(2025, 1, 1)}) == schedule
    with pytest.raises(ValueError, match="DISBURSEMENT_EARLY_DAYS"):
        PaySchedule.from_config({"DISBURSEMENT_EARLY_DAYS": 40})
