"""No one alone makes public money payable (issue 15, findings 4 and 5), tried against a running housing service
on SQLite and PostgreSQL with its events read off RabbitMQ.

- A re-certification that raises the amount or renews the term waits for a reviewer who is not its proposer;
  the proposer's own approval is refused with nothing changed, stored or published; repeating it renews nothing.
- A legacy import is history only: a decision dated on or after go-live is refused with nothing stored or
  published, and an imported case is paid by no live run until a reviewer has decided it on the platform.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import update

from services.housing.models import OpenCase, SubsidyApplication, SubsidyRecertification
from services.housing.rules import period_of, shift_period
from services.housing.service import HousingService
from shared.platform.clock import local_today
from shared.platform.db import make_engine
from shared.platform.errors import ValidationError
from shared.platform.models import OutboxMessage
from tests.services.housing.conftest import count_rows, subsidy_application
from tests.support.databases import migrate
from tests.support.residents import application as legacy_application

RECERTIFIED = "subsidy_recertified"


def approved_case(call) -> dict:
    submitted = call("cw-1", "caseworker").submit_subsidy_application(subsidy_application(household_size=3))
    return call("rv-1", "reviewer").review_subsidy_application(submitted["application_id"], "approve")


@contextmanager
def refused(exc_type: str):
    with pytest.raises(RemoteError) as caught:
        yield
    assert caught.value.exc_type == exc_type


def published(events, event_type: str, wait: float = 2.0) -> list[dict]:
    events.drain(until=lambda seen: any(e["event_type"] == event_type for e in seen), timeout=wait)
    return events.of_type(event_type)


def set_term_end(config: dict, application_id: str, end_period: str) -> None:
    """Bring a term to its end without waiting a year."""
    engine = make_engine(config["DATABASE_URL"])
    with engine.begin() as connection:
        connection.execute(
            update(SubsidyApplication).where(SubsidyApplication.id == application_id).values(end_period=end_period)
        )
    engine.dispose()


def test_a_caseworker_cannot_raise_a_subsidy_alone(housing, call, events):
    case = approved_case(call)
    both_roles = call("cw-1", "caseworker", "reviewer")  # one person holding both roles is still one person
    proposed = both_roles.recertify_subsidy(case["application_id"], {"household_size": 5})
    assert proposed["recertification"]["status"] == "awaiting_review"
    assert proposed["recertification"]["monthly_subsidy_fen"] == 81000 > case["monthly_subsidy_fen"]
    assert proposed["application"]["monthly_subsidy_fen"] == case["monthly_subsidy_fen"]  # nothing applied yet

    with refused("MakerCheckerViolation"):
        both_roles.review_subsidy_recertification(case["application_id"], "approve")
    unchanged = call("rv-2", "reviewer").get_subsidy_application(case["application_id"])
    assert (unchanged["household_size"], unchanged["monthly_subsidy_fen"]) == (3, case["monthly_subsidy_fen"])
    assert count_rows(housing, SubsidyRecertification, status="awaiting_review") == 1
    assert count_rows(housing, OutboxMessage, routing_key=RECERTIFIED) == 0
    assert published(events, RECERTIFIED) == []

    decided = call("rv-2", "reviewer").review_subsidy_recertification(case["application_id"], "approve")
    assert decided["application"]["monthly_subsidy_fen"] == 81000
    [event] = published(events, RECERTIFIED, wait=10)
    assert (event["data"]["monthly_subsidy_fen"], event["data"]["reviewed"]) == (81000, True)
    history = call("rv-2", "reviewer").get_case_history("subsidy_recertification", decided["recertification"]["id"])
    assert [(entry["to_state"], entry["actor"]) for entry in history] == [
        ("awaiting_review", "cw-1"),
        ("approved", "rv-2"),
    ]


def test_a_renewed_term_waits_for_review_and_a_repeat_renews_nothing(housing, call, events):
    case = approved_case(call)
    this_month = period_of(local_today())
    set_term_end(housing, case["application_id"], this_month)
    caseworker = call("cw-1", "caseworker")
    proposed = caseworker.recertify_subsidy(case["application_id"])
    assert proposed["recertification"]["status"] == "awaiting_review"
    assert proposed["recertification"]["end_period"] == shift_period(this_month, 12)
    with refused("InvalidTransition"):
        caseworker.recertify_subsidy(case["application_id"])
    call("rv-1", "reviewer").review_subsidy_recertification(case["application_id"], "approve")

    again = caseworker.recertify_subsidy(case["application_id"])  # the same call once more: nothing new to decide
    assert again["recertification"]["status"] == "applied"
    assert again["application"]["end_period"] == shift_period(this_month, 12)
    assert [e["data"]["reviewed"] for e in published(events, RECERTIFIED, wait=10)] in ([True], [True, False])


def test_lowering_the_amount_applies_at_once_audited_and_published(housing, call, events):
    case = approved_case(call)
    applied = call("cw-1", "caseworker").recertify_subsidy(case["application_id"], {"household_size": 1})
    assert applied["recertification"]["status"] == "applied"
    assert applied["application"]["monthly_subsidy_fen"] == 27000
    [event] = published(events, RECERTIFIED, wait=10)
    assert event["data"]["previous_monthly_subsidy_fen"] == case["monthly_subsidy_fen"]
    history = call("rv-1", "reviewer").get_case_history("subsidy_recertification", applied["recertification"]["id"])
    assert [entry["to_state"] for entry in history] == ["applied"]


@pytest.mark.parametrize("decided_on", ["today", "go-live"])
def test_a_legacy_import_dated_on_or_after_go_live_is_refused(housing, call, events, decided_on):
    day = local_today().isoformat() if decided_on == "today" else "2025-01-01"  # the suite's go-live
    with pytest.raises(ValidationError) as refused:
        call("migrator", "admin").import_legacy_subsidy(legacy_application(), day)
    assert set(refused.value.errors) == {"decided_on"}
    for model in (SubsidyApplication, OpenCase, OutboxMessage):
        assert count_rows(housing, model) == 0
    assert events.drain(timeout=1.0) == []


@pytest.fixture
def late_go_live(db_url, service_config, container_factory):
    """A housing service going live tomorrow, so yesterday's paper decision may be imported and is due this month."""
    migrate("housing", db_url)
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    container = container_factory(HousingService, service_config(db_url, DISBURSEMENT_GO_LIVE=tomorrow))
    container.start()
    return container.config


def test_an_imported_case_is_paid_by_no_live_run_until_a_reviewer_decides_it(late_go_live, token_for):
    def proxy(subject: str, *roles: str) -> ServiceRpcProxy:
        return ServiceRpcProxy("housing", late_go_live, context_data={"authorization": token_for(subject, *roles)})

    yesterday = (local_today() - timedelta(days=1)).isoformat()
    this_month = period_of(local_today())
    with proxy("migrator", "admin", "reviewer") as importer, proxy("cw-1", "caseworker") as caseworker:
        case = importer.import_legacy_subsidy(legacy_application(), yesterday)
        assert case["status"] == "approved" and case["legacy"] is True
        assert importer.run_disbursement(this_month)["paid"] == 0  # one admin's word pays nothing
        caseworker.recertify_subsidy(case["application_id"])
        with refused("MakerCheckerViolation"):  # the importer stood in as reviewer once already
            importer.review_subsidy_recertification(case["application_id"], "approve")
        assert importer.run_disbursement(this_month)["paid"] == 0
        with proxy("rv-1", "reviewer") as reviewer:
            decided = reviewer.review_subsidy_recertification(case["application_id"], "approve")
        assert decided["application"]["legacy"] is False
        assert importer.run_disbursement(this_month)["paid"] == 1
