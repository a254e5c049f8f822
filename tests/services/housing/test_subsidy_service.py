"""The rent subsidy through real RPC on a real broker and database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from nameko.exceptions import RemoteError

from shared.platform.contracts import validate_envelope
from shared.platform.errors import Forbidden, NotAuthenticated, ValidationError
from shared.platform.personal_data_provider import PiiTools, keys_from_config
from tests.services.housing.conftest import make_id_number, subsidy_application
from tests.support.jobs import disburse
from tests.support.residents import subject_of


def test_black_box_application_is_submitted_and_approved_once(call, events, housing):
    caseworker, reviewer = call("cw-1", "caseworker"), call("rv-1", "reviewer")

    submitted = caseworker.submit_subsidy_application(subsidy_application())
    assert submitted["status"] == "submitted" and submitted["reasons"] == []

    reviewed = reviewer.review_subsidy_application(submitted["application_id"], "approve")
    assert reviewed["status"] == "approved"
    assert isinstance(reviewed["monthly_subsidy_fen"], int)
    # 15 yuan/㎡ × 35 ㎡ (3 people) × 1.2 (talent), from the seeded 2023 policy row, below the 1,800 yuan rent
    assert reviewed["monthly_subsidy_fen"] == 63000
    assert reviewed["policy_id"] and "rent_subsidy#" in reviewed["policy_ref"]
    assert reviewed["phone"] == "138****5678"
    assert reviewed["id_number"].startswith("330282********")

    seen = events.drain(until=lambda seen: any(e["event_type"] == "subsidy_approved" for e in seen))
    events.drain(timeout=1.5)  # anything published twice would show up now
    approvals = events.of_type("subsidy_approved")
    assert len(approvals) == 1
    envelope, data = validate_envelope(approvals[0])
    assert data["application_id"] == submitted["application_id"]
    assert data["monthly_subsidy_fen"] == 63000
    assert set(approvals[0]["data"]) >= {
        "application_id",
        "resident_id",
        "town",
        "category",
        "household_size",
        "monthly_subsidy_fen",
        "approved_at",
    }
    types = [event["event_type"] for event in seen]
    assert types.index("contact_provided") < types.index("subsidy_approved")


def test_contact_reaches_notify_only_encrypted(call, events, housing):
    phone = "13912345678"
    application = subsidy_application(phone=phone)
    call("cw-1", "caseworker").submit_subsidy_application(application)
    events.drain(until=lambda seen: any(e["event_type"] == "subsidy_application_submitted" for e in seen))
    [contact] = events.of_type("contact_provided")
    for event in events.seen:
        body = str(event)
        assert phone not in body and application["id_number"] not in body
    assert (
        PiiTools(keys_from_config(housing)).decrypt(
            contact["data"]["phone_encrypted"], bound_to=contact["data"]["resident_id"]
        )
        == phone
    )
    validate_envelope(contact)


def test_bad_input_lists_every_field_and_stores_nothing(call):
    caseworker = call("cw-1", "caseworker")
    bad = subsidy_application(
        id_number="330282199001011230", phone="12345", town="杭州", household_size=0, monthly_rent_yuan=-5
    )
    del bad["name"]
    with pytest.raises(ValidationError) as raised:
        caseworker.submit_subsidy_application(bad)
    assert set(raised.value.errors) == {"id_number", "phone", "town", "household_size", "monthly_rent_yuan", "name"}
    assert caseworker.list_subsidy_applications()["total"] == 0


def test_ineligible_is_kept_with_reasons(call):
    caseworker = call("cw-1", "caseworker")
    result = caseworker.submit_subsidy_application(
        subsidy_application(has_residence_permit=False, owns_home_in_cixi=True)
    )
    assert result["status"] == "ineligible"
    assert result["reasons"] == ["no_residence_permit", "owns_home_in_cixi"]
    stored = caseworker.get_subsidy_application(result["application_id"])
    assert stored["status"] == "ineligible" and stored["reasons"] == result["reasons"]
    appeal = caseworker.appeal_subsidy_application(result["application_id"], "已取得居住证")  # the old name
    assert (appeal["status"], appeal["case_id"]) == ("received", result["application_id"])


def test_duplicate_open_application_names_the_case(call):
    caseworker = call("cw-1", "caseworker")
    application = subsidy_application()
    first = caseworker.submit_subsidy_application(application)
    with pytest.raises(RemoteError) as raised:
        caseworker.submit_subsidy_application({**application, "id_number": application["id_number"].lower()})
    assert raised.value.exc_type == "DuplicateApplication"
    assert first["application_id"] in raised.value.value


def test_maker_checker_and_roles(call):
    both = call("staff-1", "caseworker", "reviewer")
    application = subsidy_application()
    submitted = both.submit_subsidy_application(application)
    with pytest.raises(RemoteError) as raised:
        both.review_subsidy_application(submitted["application_id"], "approve")
    assert raised.value.exc_type == "MakerCheckerViolation"
    with pytest.raises(Forbidden):
        call("cw-2", "caseworker").review_subsidy_application(submitted["application_id"], "approve")
    with pytest.raises(ValidationError) as raised:
        call("rv-1", "reviewer").review_subsidy_application(submitted["application_id"], "reject")
    assert "note" in raised.value.errors
    rejected = call("rv-1", "reviewer").review_subsidy_application(
        submitted["application_id"], "reject", "租金凭证不全"
    )
    assert rejected["status"] == "rejected" and rejected["monthly_subsidy_fen"] is None
    with pytest.raises(RemoteError) as raised:
        call("rv-2", "reviewer").review_subsidy_application(submitted["application_id"], "approve")
    assert raised.value.exc_type == "InvalidTransition"
    # the rejection freed the resident's slot: a fresh application is accepted
    assert both.submit_subsidy_application(application)["status"] == "submitted"


def test_unauthenticated_is_refused(housing):
    from nameko.standalone.rpc import ServiceRpcProxy

    with ServiceRpcProxy("housing", housing) as anonymous, pytest.raises(NotAuthenticated):
        anonymous.submit_subsidy_application(subsidy_application())


def test_resident_submits_for_themselves_and_sees_only_their_own(call):
    form, others = subsidy_application(), subsidy_application()
    resident, other = call(subject_of(form["id_number"]), "resident"), call(subject_of(others["id_number"]), "resident")
    mine = resident.submit_subsidy_application(form)
    other.submit_subsidy_application(others)
    assert [item["application_id"] for item in resident.list_subsidy_applications()["items"]] == [
        mine["application_id"]
    ]
    with pytest.raises(RemoteError) as raised:
        other.get_subsidy_application(mine["application_id"])
    assert raised.value.exc_type == "ApplicationNotFound"
    with pytest.raises(Forbidden):
        resident.review_subsidy_application(mine["application_id"], "approve")
    assert call("cw-1", "caseworker").list_subsidy_applications()["total"] == 2


def test_lookup_by_id_number_or_phone_shows_them_masked(call):
    caseworker = call("cw-1", "caseworker")
    id_number = make_id_number()
    caseworker.submit_subsidy_application(subsidy_application(id_number=id_number, phone="13700001111"))
    caseworker.submit_subsidy_application(subsidy_application())
    [by_id] = caseworker.find_subsidy_applications(id_number=id_number)["items"]
    [by_phone] = caseworker.find_subsidy_applications(phone="+86 137-0000-1111")["items"]
    assert by_id["application_id"] == by_phone["application_id"]
    assert by_id["id_number"] == id_number[:6] + "********" + id_number[-4:]
    assert by_id["phone"] == "137****1111"
    with pytest.raises(ValidationError):
        caseworker.find_subsidy_applications()


def test_disbursement_pays_each_household_once(call, events, housing_clock):
    caseworker, reviewer, admin = call("cw-1", "caseworker"), call("rv-1", "reviewer"), call("ops", "admin")
    for _ in range(3):
        submitted = caseworker.submit_subsidy_application(subsidy_application())
        reviewer.review_subsidy_application(submitted["application_id"], "approve")
    period = reviewer.get_subsidy_application(submitted["application_id"])["start_period"]
    housing_clock.frozen = datetime(int(period[:4]), int(period[5:]), 15, 4, tzinfo=UTC)  # the period is due
    first = disburse(admin, period)
    assert (first["paid"], first["total_fen"], first["already_paid"]) == (3, 3 * 63000, 0)
    second = disburse(admin, period)  # a new job, once the first has finished: it pays nobody twice
    assert (second["paid"], second["total_fen"], second["already_paid"]) == (0, 0, 3)
    events.drain(until=lambda seen: len([e for e in seen if e["event_type"] == "subsidy_disbursed"]) >= 3)
    events.drain(timeout=1.0)
    assert len(events.of_type("subsidy_disbursed")) == 3
    with pytest.raises(ValidationError):
        admin.run_disbursement("2025-13")
    with pytest.raises(Forbidden):
        reviewer.run_disbursement(period)


def test_health(housing):
    from nameko.standalone.rpc import ServiceRpcProxy

    with ServiceRpcProxy("housing", housing) as proxy:
        assert proxy.health()["status"] == "ok"


def test_list_policies_answers_every_version_oldest_first(call):
    listed = call("cw-1", "caseworker").list_policies("rent_subsidy")
    assert [row["effective_from"] for row in listed] == ["2019-01-01", "2023-01-01"]
    assert {row["programme"] for row in listed} == {"rent_subsidy"}
    assert "frontline_worker" in listed[1]["rules"]["eligible_categories"] and listed[1]["policy_ref"]
    assert {row["programme"] for row in call("rv-1", "reviewer").list_policies()} == {
        "rent_subsidy",
        "tenancy",
        "operator_subsidy",
    }
