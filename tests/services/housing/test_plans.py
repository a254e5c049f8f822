"""The stock raised and the year's plans (issue #16 item 10): a project publishes the units it raises; the
stock plan and the operator-subsidy forecast are admin-only, recorded once a year, audited and published."""

import pytest
from nameko.exceptions import RemoteError

from services.housing.models import HousingPlan
from shared.platform.audit import AuditRecord
from shared.platform.contracts import validate_envelope
from shared.platform.errors import Forbidden, ValidationError
from tests.services.housing.conftest import count_rows, project


def test_a_project_publishes_the_units_it_raises(call, events):
    call("cw-1", "caseworker").create_project(project(planned_units=480))
    events.drain(lambda seen: any(e["event_type"] == "project_raised" for e in seen))
    [raised] = events.of_type("project_raised")
    _, data = validate_envelope(raised)
    assert (data["town"], data["kind"], data["year_raised"], data["units"]) == ("宗汉街道", "new_build", 2024, 480)


def test_the_plans_are_admin_only_once_a_year_and_audited(call, events, housing):
    admin = call("admin-1", "admin")
    with pytest.raises(Forbidden):
        call("cw-1", "caseworker").record_stock_plan({"year": 2025, "units": 3800, "policy_ref": "seed §1"})
    with pytest.raises(ValidationError) as invalid:
        admin.record_stock_plan({"year": 1999, "units": 0, "policy_ref": "", "extra": 1})
    assert set(invalid.value.errors) == {"year", "units", "policy_ref", "extra"}
    stock = admin.record_stock_plan({"year": 2025, "units": 3800, "policy_ref": "慈新服建〔2025〕2号 §1"})
    forecast = admin.publish_operator_subsidy_forecast(2025)
    assert (forecast["projects"], forecast["units"], forecast["amount_fen"]) == (50, 9000, 1_000_000_000)
    for again in (
        lambda: admin.record_stock_plan({"year": 2025, "units": 3900, "policy_ref": "x"}),
        lambda: admin.publish_operator_subsidy_forecast(2025),
    ):
        with pytest.raises(RemoteError) as twice:
            again()
        assert twice.value.exc_type == "PlanExists"
    with pytest.raises(RemoteError) as no_forecast:
        admin.publish_operator_subsidy_forecast(2024)  # 2024's row has no forecast: its figures are actuals
    assert no_forecast.value.exc_type == "PolicyMissing"
    assert [p["kind"] for p in admin.list_plans()] == ["operator_subsidy", "stock"]
    assert count_rows(housing, HousingPlan) == 2
    assert count_rows(housing, AuditRecord, case_type="housing_plan", actor="admin-1") == 2
    events.drain(lambda seen: len([e for e in seen if e["event_type"].endswith("planned")]) == 2)
    [planned] = events.of_type("stock_planned")
    assert validate_envelope(planned)[1]["units"] == 3800 and planned["data"]["plan_id"] == stock["plan_id"]
    [budget] = events.of_type("operator_subsidy_planned")
    assert validate_envelope(budget)[1]["amount_fen"] == 1_000_000_000
