"""The seeded 保租房 rules enforced (70 ㎡ unit area, 5 % a year rent rise) and the operator subsidy's one rate
model, with the 2025 budget forecast reported beside the approved amounts, never used as a rate (issue #16)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from nameko.exceptions import RemoteError
from sqlalchemy.orm import Session

from services.housing import rules
from services.housing.policy import OPERATOR_SUBSIDY, TENANCY, policy_in_force
from shared.platform.clock import SHANGHAI
from shared.platform.db import make_engine
from tests.services.housing.conftest import project, tenancy_application, unit
from tests.support.databases import migrate

RULES = {"max_annual_increase_permille": 50, "max_unit_area_m2": 70}
SET_ON = date(2025, 1, 31)


@pytest.mark.parametrize(("area", "ok"), [("70", True), ("70.00", True), ("70.01", False), ("5", True)])
def test_unit_area_limit(area, ok):
    assert rules.unit_area_within_limit(Decimal(area), RULES) is ok
    assert rules.unit_area_within_limit(Decimal(area), {}) is True  # a row without the limit has none


@pytest.mark.parametrize(
    ("new_fen", "on", "allowed"),
    [
        (105000, date(2026, 1, 31), True),  # +5 % exactly, 12 months to the day after the rent was set
        (105001, date(2026, 1, 31), False),  # one fen over the cap
        (105000, date(2026, 1, 30), False),  # the day before a rise is allowed at all
        (100001, date(2026, 1, 30), False),
        (100000, date(2025, 2, 1), True),  # the same rent, any time
        (90000, date(2025, 2, 1), True),  # a cut, any time
    ],
)
def test_rent_rise_is_capped_once_a_year(new_fen, on, allowed):
    rise = rules.rent_increase(100000, new_fen, SET_ON, on, RULES)
    assert rise.allowed is allowed
    assert rise.next_rise_on == date(2026, 1, 31)


def test_rent_rise_counts_calendar_months_from_a_month_end():
    # set on 29 February: the next rise from 28 February of the next year (that month has no 29th)
    assert rules.rent_increase(100000, 105000, date(2024, 2, 29), date(2025, 2, 27), RULES).allowed is False
    assert rules.rent_increase(100000, 105000, date(2024, 2, 29), date(2025, 2, 28), RULES).allowed is True


def test_the_seeded_rows_hold_the_limits_and_one_operator_rate_model(db_url):
    migrate("housing", db_url)
    engine = make_engine(db_url)
    with Session(engine) as session:
        tenancy = policy_in_force(session, TENANCY, date(2022, 1, 1))
        assert (tenancy["max_unit_area_m2"], tenancy["max_annual_increase_permille"]) == (70, 50)
        y2024 = policy_in_force(session, OPERATOR_SUBSIDY, date(2024, 12, 31))
        y2025 = policy_in_force(session, OPERATOR_SUBSIDY, date(2025, 12, 31))
        assert (y2025["basis"], y2025["per_m2_fen"]) == (y2024["basis"], y2024["per_m2_fen"]) == ("per_m2", 1000)
        assert "per_unit_fen" not in y2025.rules
        assert dict(y2025["forecast"]) == {"year": 2025, "projects": 50, "units": 9000, "amount_fen": 1_000_000_000}
        assert y2024.get("forecast") is None
    engine.dispose()


def test_a_unit_over_70_square_metres_is_refused_at_listing(call):
    caseworker = call("cw-1", "caseworker")
    project_id = caseworker.create_project(project())["project_id"]
    assert caseworker.list_unit(project_id, unit("101", area="70.00"))["area_m2"] == "70.00"
    with pytest.raises(RemoteError) as raised:
        caseworker.list_unit(project_id, unit("102", area="70.01"))
    assert raised.value.exc_type == "UnitAreaExceeded" and "70.01" in raised.value.value
    with pytest.raises(RemoteError) as raised:  # both rules broken: refused for the first, both named
        caseworker.list_unit(project_id, unit("103", area="80", rent_yuan=1400, market_yuan=1500))
    assert raised.value.exc_type == "RentCapExceeded"
    assert "rent 140000 fen" in raised.value.value and "area 80" in raised.value.value
    assert [row["unit_no"] for row in caseworker.list_units(project_id)] == ["101"]


def _cixi_midnight(day: date) -> datetime:
    """00:00 in Cixi (UTC+8), as the aware UTC moment the clock takes."""
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).astimezone(UTC)


def test_a_renewal_raises_the_rent_by_at_most_5_percent_a_year(call, process_clock):
    # housing's tenancy functions read the process clock (shared.platform.clock.utcnow); it ticks on from each start
    caseworker, reviewer = call("cw-1", "caseworker"), call("rv-1", "reviewer")
    project_id = caseworker.create_project(project())["project_id"]
    caseworker.list_unit(project_id, unit("101", rent_yuan=1200))
    process_clock(_cixi_midnight(date(2025, 1, 31)))
    application_id = caseworker.submit_tenancy_application(tenancy_application())["application_id"]
    lease = reviewer.allocate_unit(application_id, project_id, start_date="2025-01-31")
    assert (lease["monthly_rent_fen"], lease["rent_set_on"]) == (120000, "2025-01-31")

    process_clock(_cixi_midnight(date(2026, 1, 31)) - timedelta(minutes=10))
    with pytest.raises(RemoteError) as raised:  # 23:50 on 30 January in Cixi: too soon
        caseworker.renew_tenancy(lease["tenancy_id"], {"monthly_rent_yuan": 1201})
    assert raised.value.exc_type == "RentIncreaseExceeded" and "2026-01-31" in raised.value.value

    process_clock(_cixi_midnight(date(2026, 1, 31)))
    with pytest.raises(RemoteError) as raised:
        caseworker.renew_tenancy(lease["tenancy_id"], {"monthly_rent_yuan": "1260.01"})
    assert raised.value.exc_type == "RentIncreaseExceeded" and "126000 fen" in raised.value.value
    renewed = caseworker.renew_tenancy(lease["tenancy_id"], {"monthly_rent_yuan": 1260})
    assert (renewed["monthly_rent_fen"], renewed["rent_set_on"], renewed["status"]) == (126000, "2026-01-31", "active")
    with pytest.raises(RemoteError) as raised:  # the rise just made starts the next year's count
        caseworker.renew_tenancy(lease["tenancy_id"], {"monthly_rent_yuan": 1261})
    assert raised.value.exc_type == "RentIncreaseExceeded"
    lowered = caseworker.renew_tenancy(lease["tenancy_id"], {"monthly_rent_yuan": 1100})
    assert lowered["monthly_rent_fen"] == 110000


def test_2025_is_assessed_at_2024s_rate_and_reported_against_the_forecast(call):
    caseworker, reviewer = call("cw-1", "caseworker"), call("rv-1", "reviewer")
    project_id = caseworker.create_project(project())["project_id"]
    for number in range(5):
        caseworker.list_unit(project_id, unit(f"10{number}"))
    for _ in range(4):
        application_id = caseworker.submit_tenancy_application(tenancy_application())["application_id"]
        reviewer.allocate_unit(application_id, project_id)
    assessments = {year: caseworker.assess_operator_subsidy(project_id, year) for year in (2024, 2025)}
    amount = 5 * 4550 * 10  # 5 units of 45.50 ㎡ at 10 yuan (1,000 fen) a ㎡, both years
    assert assessments[2024]["amount_fen"] == assessments[2025]["amount_fen"] == amount
    reviewer.review_operator_subsidy(assessments[2025]["assessment_id"], "approve")
    summary = caseworker.operator_subsidy_summary(2025)
    assert summary["amount_fen"] == amount and summary["projects"] == 1
    assert summary["forecast"] == {"projects": 50, "units": 9000, "amount_fen": 1_000_000_000}
    assert summary["forecast_remaining_fen"] == 1_000_000_000 - amount
    assert caseworker.operator_subsidy_summary(2024)["forecast"] is None
    assert caseworker.operator_subsidy_summary(2023)["forecast"] is None  # before the programme's first row
