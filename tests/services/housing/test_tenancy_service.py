"""保租房 and operator subsidies through real RPC: rent cap, exclusivity, last-unit race, exit, 运营奖补."""

from __future__ import annotations

import eventlet
import pytest
from nameko.exceptions import RemoteError

from shared.platform.contracts import validate_envelope
from shared.platform.errors import Forbidden, ValidationError
from tests.services.housing.conftest import project, subsidy_application, tenancy_application, unit
from tests.support.jobs import until_finished


def test_unit_rent_cap_is_checked_at_listing(call):
    caseworker = call("cw-1", "caseworker")
    created = caseworker.create_project(project())
    assert created["town"] == "宗汉街道"
    listed = caseworker.list_unit(created["project_id"], unit("101", rent_yuan=1350, market_yuan=1500))
    assert listed["status"] == "vacant" and listed["monthly_rent_fen"] == 135000 and listed["rent_policy_id"]
    with pytest.raises(RemoteError) as raised:
        caseworker.list_unit(created["project_id"], unit("102", rent_yuan=1351, market_yuan=1500))
    assert raised.value.exc_type == "RentCapExceeded"
    with pytest.raises(ValidationError) as invalid:
        caseworker.list_unit(created["project_id"], {"unit_no": "", "area_m2": "-1", "monthly_rent_yuan": 0})
    assert set(invalid.value.errors) == {"unit_no", "area_m2", "monthly_rent_yuan", "market_rent_yuan"}
    assert [row["unit_no"] for row in caseworker.list_units(created["project_id"])] == ["101"]


def test_allocation_lease_and_exit(call, events):
    caseworker, reviewer = call("cw-1", "caseworker"), call("rv-1", "reviewer")
    project_id = caseworker.create_project(project())["project_id"]
    caseworker.list_unit(project_id, unit("101"))
    application = tenancy_application()
    submitted = caseworker.submit_tenancy_application(application)
    assert submitted["status"] == "submitted"
    with pytest.raises(Forbidden):
        caseworker.allocate_unit(submitted["application_id"], project_id)
    tenancy = reviewer.allocate_unit(submitted["application_id"], project_id, start_date="2025-01-31")
    assert (tenancy["start_date"], tenancy["end_date"]) == ("2025-01-31", "2028-01-30")
    assert tenancy["monthly_rent_fen"] == 120000
    assert caseworker.list_units(project_id, "vacant") == []
    # a tenant cannot also take the rent subsidy
    with pytest.raises(RemoteError) as raised:
        caseworker.submit_subsidy_application(subsidy_application(id_number=application["id_number"]))
    assert raised.value.exc_type == "DuplicateApplication" and submitted["application_id"] in raised.value.value
    ended = caseworker.end_tenancy(tenancy["tenancy_id"], "bought_home")
    assert ended["status"] == "ended" and ended["end_reason"] == "bought_home"
    assert [row["unit_no"] for row in caseworker.list_units(project_id, "vacant")] == ["101"]
    events.drain(until=lambda seen: any(e["event_type"] == "tenancy_ended" for e in seen))
    for event_type in ("tenancy_started", "tenancy_ended"):
        [envelope] = events.of_type(event_type)
        validate_envelope(envelope)
    caseworker.create_project(project(name="2025 计划项目", year_raised=2025, planned_units=3800))
    assert caseworker.unit_counts_by_year() == [
        {"year": 2024, "units": 1, "let": 0, "planned": 0},
        {"year": 2025, "units": 0, "let": 0, "planned": 3800},
    ]


def test_subsidy_holder_cannot_apply_for_a_unit(call):
    caseworker = call("cw-1", "caseworker")
    application = subsidy_application()
    submitted = caseworker.submit_subsidy_application(application)
    with pytest.raises(RemoteError) as raised:
        caseworker.submit_tenancy_application(tenancy_application(id_number=application["id_number"]))
    assert raised.value.exc_type == "DuplicateApplication" and submitted["application_id"] in raised.value.value


def test_ineligible_tenancy_application_is_kept_with_reasons(call):
    result = call("cw-1", "caseworker").submit_tenancy_application(
        tenancy_application(has_residence_permit=False, employed_in_cixi=False)
    )
    assert result["status"] == "ineligible"
    assert result["reasons"] == ["not_employed_in_cixi", "no_residence_permit"]


def test_concurrent_allocations_of_the_last_unit_one_wins(call):
    caseworker = call("cw-1", "caseworker")
    project_id = caseworker.create_project(project())["project_id"]
    caseworker.list_unit(project_id, unit("101"))
    applications = [caseworker.submit_tenancy_application(tenancy_application())["application_id"] for _ in range(2)]
    reviewers = [call(f"rv-{number}", "reviewer") for number in range(2)]

    def allocate(reviewer, application_id):
        try:
            return reviewer.allocate_unit(application_id, project_id)
        except RemoteError as error:
            return error

    outcomes = [
        thread.wait()
        for thread in [eventlet.spawn(allocate, r, a) for r, a in zip(reviewers, applications, strict=True)]
    ]
    wins = [outcome for outcome in outcomes if isinstance(outcome, dict)]
    losses = [outcome for outcome in outcomes if isinstance(outcome, RemoteError)]
    assert len(wins) == 1 and len(losses) == 1
    assert losses[0].exc_type == "NoVacantUnit"
    assert caseworker.list_units(project_id)[0]["status"] == "let"
    loser = applications[1 - applications.index(wins[0]["application_id"])]
    assert caseworker.get_tenancy_application(loser)["status"] == "submitted"  # still waiting for a unit


AMOUNT_2024 = 5 * 4550 * 10  # five units of 45.50 ㎡ at the 2024 row's 10 yuan (1000 fen) per ㎡


def test_operator_subsidy_assessed_from_policy_and_approved_by_another(call, events):
    caseworker, reviewer = call("cw-1", "caseworker"), call("rv-1", "reviewer")
    project_id = caseworker.create_project(project())["project_id"]
    for number in range(5):
        caseworker.list_unit(project_id, unit(f"10{number}"))
    for _ in range(4):
        application_id = caseworker.submit_tenancy_application(tenancy_application())["application_id"]
        reviewer.allocate_unit(application_id, project_id)
    assessment = caseworker.assess_operator_subsidy(project_id, 2024)
    assert assessment["status"] == "assessed" and assessment["reasons"] == []
    assert assessment["amount_fen"] == AMOUNT_2024 and "operator_subsidy#" in assessment["policy_ref"]
    with pytest.raises(RemoteError) as raised:
        caseworker.assess_operator_subsidy(project_id, 2024)
    assert raised.value.exc_type == "AssessmentExists"
    both = call("cw-1", "caseworker", "reviewer")
    with pytest.raises(RemoteError) as raised:
        both.review_operator_subsidy(assessment["assessment_id"], "approve")
    assert raised.value.exc_type == "MakerCheckerViolation"
    approved = reviewer.review_operator_subsidy(assessment["assessment_id"], "approve")
    assert approved["status"] == "approved"
    assert caseworker.operator_subsidy_summary(2024) == {
        "year": 2024,
        "projects": 1,
        "units": 5,
        "amount_fen": AMOUNT_2024,
        "forecast": None,
        "forecast_remaining_fen": None,
    }
    events.drain(until=lambda seen: any(e["event_type"] == "operator_subsidy_approved" for e in seen))
    [envelope] = events.of_type("operator_subsidy_approved")
    _, data = validate_envelope(envelope)
    assert data["amount_fen"] == AMOUNT_2024 and data["year"] == 2024


def test_operator_subsidy_withheld_below_occupancy(call):
    caseworker = call("cw-1", "caseworker")
    project_id = caseworker.create_project(project())["project_id"]
    caseworker.list_unit(project_id, unit("101"))
    assessment = caseworker.assess_operator_subsidy(project_id, 2025)
    assert assessment["status"] == "ineligible" and assessment["amount_fen"] == 0
    assert assessment["reasons"] == ["occupancy_below_minimum"]
    with pytest.raises(RemoteError) as raised:
        call("rv-1", "reviewer").review_operator_subsidy(assessment["assessment_id"], "approve")
    assert raised.value.exc_type == "InvalidTransition"


def test_renewal_and_lease_expiry(call):
    caseworker, reviewer, admin = call("cw-1", "caseworker"), call("rv-1", "reviewer"), call("ops", "admin")
    project_id = caseworker.create_project(project())["project_id"]
    for number in range(3):
        caseworker.list_unit(project_id, unit(f"10{number}"))
    leases = []
    for _ in range(3):
        application_id = caseworker.submit_tenancy_application(tenancy_application())["application_id"]
        leases.append(reviewer.allocate_unit(application_id, project_id, start_date="2022-01-01"))
    renewed = caseworker.renew_tenancy(leases[0]["tenancy_id"])
    assert (renewed["status"], renewed["end_date"]) == ("active", "2027-12-31")
    ended = caseworker.renew_tenancy(leases[1]["tenancy_id"], {"owns_home_in_cixi": True})
    assert (ended["status"], ended["end_reason"]) == ("ended", "no_longer_eligible")
    with pytest.raises(ValidationError):
        caseworker.renew_tenancy(leases[0]["tenancy_id"], {"owns_home_in_cixi": "no"})
    sweep = admin.end_expired_tenancies("2025-01-01")
    assert (sweep["kind"], sweep["key"], sweep["total"]) == ("tenancy_expiry", "2025-01-01", 1)  # the third lease
    assert until_finished(admin, sweep)["result"] == {"ended": 1}
    assert until_finished(admin, admin.end_expired_tenancies("2025-01-01"))["result"] == {"ended": 0}
    assert len(caseworker.list_units(project_id, "vacant")) == 2
    with pytest.raises(RemoteError) as raised:
        caseworker.end_tenancy(leases[2]["tenancy_id"], "moved_out")
    assert raised.value.exc_type == "InvalidTransition"
    with pytest.raises(RemoteError) as raised:
        caseworker.end_tenancy("no-such-tenancy", "moved_out")
    assert raised.value.exc_type == "TenancyNotFound"
