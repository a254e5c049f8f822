"""Cases decided on paper before the platform: recorded on their own dates, under the policy then in force,
and flagged as backfill so stats counts them and notify does not message old decisions."""

import json
from datetime import timedelta

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.housing.service import HousingService
from shared.platform.clock import local_today
from shared.platform.db import make_engine
from shared.platform.errors import Forbidden, ValidationError
from shared.platform.models import OutboxMessage
from tests.support.databases import migrate
from tests.support.residents import application
from tests.support.waiting import wait_for


@pytest.fixture
def housing(container_factory, service_config, db_url, token_for):
    migrate("housing", db_url)
    config = service_config(db_url)
    container_factory(HousingService, config).start()
    admin = ServiceRpcProxy("housing", config, context_data={"authorization": token_for("migrator", "admin")})
    yield admin.start(), config, token_for, db_url
    admin.stop()


def events(url, event_type):
    engine = make_engine(url)
    with Session(engine) as session:
        bodies = [
            json.loads(row.body)
            for row in session.scalars(select(OutboxMessage).where(OutboxMessage.routing_key == event_type))
        ]
    engine.dispose()
    return bodies


def test_a_legacy_case_is_approved_on_its_own_date_under_the_policy_then(housing):
    admin, _, _, url = housing
    case = admin.import_legacy_subsidy(
        application(category="talent", household_size=3, monthly_rent_yuan=500), "2019-03-15"
    )
    assert case["status"] == "approved"
    assert case["monthly_subsidy_fen"] == 50000  # capped at the rent
    assert case["start_period"] == "2019-03" and case["end_period"] == "2020-02"
    assert "(2019)" in case["policy_ref"]
    [approved] = events(url, "subsidy_approved")
    assert approved["data"]["approved_at"].startswith("2019-03-15T02:00:00")
    assert approved["data"]["backfill"] is True
    [submitted] = events(url, "subsidy_application_submitted")
    assert submitted["data"]["backfill"] is True and submitted["data"]["submitted_at"].startswith("2019-03-15")


def test_frontline_workers_before_2023_are_not_eligible(housing):
    admin, *_ = housing
    case = admin.import_legacy_subsidy(application(category="frontline_worker"), "2021-06-01")
    assert case["status"] == "ineligible"
    assert admin.import_legacy_subsidy(application(category="frontline_worker"), "2023-06-01")["status"] == "approved"


def test_historical_disbursement_pays_the_terms_then_and_is_flagged(housing):
    admin, _, _, url = housing
    admin.import_legacy_subsidy(application(monthly_rent_yuan=400), "2020-01-10")
    assert admin.run_disbursement("2019-12", backfill=True)["paid"] == 0
    assert admin.run_disbursement("2020-01", backfill=True)["paid"] == 1
    assert admin.run_disbursement("2020-12", backfill=True)["paid"] == 1
    assert admin.run_disbursement("2021-01", backfill=True)["paid"] == 0
    assert admin.run_disbursement("2020-12", backfill=True)["paid"] == 0  # once per household per period
    paid = events(url, "subsidy_disbursed")
    assert [e["data"]["amount_fen"] for e in paid] == [40000, 40000]
    assert all(e["data"]["backfill"] for e in paid)


@pytest.mark.parametrize(
    ("form", "decided_on", "fields"),
    [
        ({"phone": "123"}, "2020-01-01", {"application.phone"}),
        ({}, "2020-13-01", {"decided_on"}),
        ({"town": "上海"}, "yesterday", {"application.town", "decided_on"}),
        ({}, (local_today() + timedelta(days=3)).isoformat(), {"decided_on"}),
    ],
)
def test_bad_imports_name_every_bad_field_and_store_nothing(housing, form, decided_on, fields):
    admin, _, _, url = housing
    with pytest.raises(ValidationError) as caught:
        admin.import_legacy_subsidy(application(**form), decided_on)
    assert set(caught.value.errors) == fields
    assert events(url, "subsidy_application_submitted") == []


def test_only_admin_imports(housing):
    _, config, token_for, _ = housing
    with ServiceRpcProxy("housing", config, context_data={"authorization": token_for("cw", "caseworker")}) as rpc:
        with pytest.raises(Forbidden):
            rpc.import_legacy_subsidy(application(), "2020-01-01")


def test_live_events_are_not_backfill(housing):
    _, config, token_for, url = housing
    with ServiceRpcProxy("housing", config, context_data={"authorization": token_for("cw", "caseworker")}) as rpc:
        rpc.submit_subsidy_application(application())
    assert wait_for(lambda: events(url, "subsidy_application_submitted"))
    assert events(url, "subsidy_application_submitted")[0]["data"]["backfill"] is False
