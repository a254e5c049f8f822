"""The insurance service in a real nameko container, over the real RabbitMQ, on SQLite and PostgreSQL:
RPC in, typed errors out, and contract-valid events on the queues the topology binds for consumers."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from kombu import Connection
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy

from services.insurance.service import InsuranceService
from shared.platform.auth import Caller
from shared.platform.clock import local_today
from shared.platform.contracts import validate_envelope
from shared.platform.errors import Forbidden, NotAuthenticated, ValidationError
from shared.platform.personal_data_provider import PiiTools, keys_from_config
from shared.platform.topology import consumer_queue
from tests.support.databases import migrate
from tests.support.metrics import metrics_showing

from .conftest import Counter, id_number, years_before

WAIT_SECONDS = 15
PERMIT = {"number": "ZJ33028277", "issued_in_cixi": True, "valid_until": "2099-12-31"}


@pytest.fixture
def start(container_factory, service_config):
    def start_service(database_url: str, **overrides):
        migrate("insurance", database_url)
        config = service_config(database_url, **{"RENEWAL_SWEEP_SECONDS": 3600, **overrides})
        container = container_factory(InsuranceService, config)
        container.start()
        return config

    return start_service


def rpc(config, token=None):
    return ServiceRpcProxy("insurance", config, context_data={"authorization": token} if token else {})


def next_event(config, event_type: str) -> tuple[dict, dict, str]:
    """The next message on stats' queue for this event (bounded wait), validated against its contract."""
    with Connection(config["AMQP_URI"]) as connection:
        queue = connection.SimpleQueue(consumer_queue("insurance", event_type, "stats", config))
        message = queue.get(timeout=WAIT_SECONDS)
        message.ack()
        raw = message.body if isinstance(message.body, str) else message.body.decode()
        queue.close()
    envelope, data = validate_envelope(json.loads(raw))
    return envelope, data, raw


def test_an_activated_enrolment_publishes_contract_valid_events(start, db_url, token_for):
    config = start(db_url)
    worker = id_number(years_before(local_today(), 31), serial=61)
    who = {"id_number": worker, "hukou": "other", "residence_permit": PERMIT}
    start_date = (local_today() - timedelta(days=10)).isoformat()
    with rpc(config, token_for("cw-li", "caseworker")) as insurance:
        registered = insurance.register_employment(
            {"resident": who, "kind": "flexible", "start_date": start_date, "town": "坎墩"}
        )
        enrolment = insurance.enrol_pension(
            {"resident": who, "route": "flexible", "town": "坎墩", "contribution_base_fen": 600_000}
        )
    with rpc(config, token_for("rv-wang", "reviewer")) as insurance:
        active = insurance.activate_enrolment(enrolment["enrolment_id"])
        assert insurance.get_enrolment(enrolment["enrolment_id"])["status"] == "active"
    assert registered["late"] is False and active["status"] == "active"

    expected_resident = PiiTools(keys_from_config(config)).resident_id(worker)
    _, registered_event, raw = next_event(config, "employment_registered")
    assert registered_event["resident_id"] == expected_resident and worker not in raw
    _, created, _ = next_event(config, "enrolment_created")
    assert created["enrolment_id"] == enrolment["enrolment_id"]
    envelope, activated, raw = next_event(config, "enrolment_activated")
    assert envelope["source"] == "insurance" and envelope["event_type"] == "enrolment_activated"
    assert activated["enrolment_id"] == enrolment["enrolment_id"]
    assert activated["resident_id"] == expected_resident
    assert activated["monthly_contribution_fen"] == 120_000  # 20 % of 6,000.00 yuan
    assert activated["coverage_start"].isoformat() == active["coverage_start"]
    assert worker not in raw and worker[:17] not in raw and PERMIT["number"] not in raw


def test_errors_reach_the_caller_typed(start, sqlite_url, token_for):
    config = start(sqlite_url)
    senior = id_number(years_before(local_today(), 70), serial=9)
    with rpc(config) as anonymous, pytest.raises(NotAuthenticated):
        anonymous.enrol_medical({})
    with rpc(config, token_for("someone", "resident")) as resident, pytest.raises(Forbidden):
        resident.enrol_medical({})
    with rpc(config, token_for("rv-wang", "reviewer")) as reviewer, pytest.raises(Forbidden):
        reviewer.enrol_pension({})
    with rpc(config, token_for("cw-li", "caseworker")) as insurance:
        with pytest.raises(Forbidden):
            insurance.activate_enrolment("any")
        with pytest.raises(ValidationError) as caught:
            insurance.enrol_medical({"resident": {"id_number": "123"}, "route": "x", "town": "nowhere"})
        assert set(caught.value.errors) == {"resident.id_number", "resident.hukou", "route", "town"}
        with pytest.raises(RemoteError) as refused:
            insurance.enrol_medical(
                {"resident": {"id_number": senior, "hukou": "other"}, "route": "resident", "town": "浒山"}
            )
        assert refused.value.exc_type == "NotEligible" and "valid Cixi residence permit required" in str(refused.value)
        answer = insurance.check_eligibility({"id_number": senior, "hukou": "other"}, "elderly_care")
        assert answer["answer"] == "not eligible: hukou required; self-paid service available"
        with pytest.raises(RemoteError) as missing:
            insurance.get_enrolment("no-such-enrolment")
        assert missing.value.exc_type == "EnrolmentNotFound"
    with rpc(config) as public:
        figures = {row["name"] for row in public.get_policy()}
        assert {"pension.base_min_pct", "pension.base_max_pct", "pension.flexible_rate_pct"} <= figures


def test_the_renewal_timer_emits_through_the_outbox(start, sqlite_url, token_for):
    # an enrolment activated 360 days ago: its 12-month period ends within the 30-day reminder window
    counter = Counter(sqlite_url)
    counter.pii = PiiTools(
        keys_from_config({"PII_HMAC_KEY": "test-hmac-key", "PII_ENCRYPTION_KEY": "test-encryption-key"})
    )
    then = local_today() - timedelta(days=360)
    who = {"id_number": id_number(years_before(then, 40), serial=77), "hukou": "cixi", "residence_permit": None}
    enrolment = counter.desk(then).enrol_medical(
        {"resident": who, "route": "resident", "town": "周巷"}, Caller("cw", frozenset({"caseworker"}))
    )
    counter.desk(then).decide(
        "activate", {"enrolment_id": enrolment["enrolment_id"]}, Caller("rv", frozenset({"reviewer"}))
    )
    counter.close()

    config = start(sqlite_url, RENEWAL_SWEEP_SECONDS=0.3)
    _, due, _ = next_event(config, "renewal_due")
    assert due["enrolment_id"] == enrolment["enrolment_id"] and 0 <= due["days_left"] <= 30
    with rpc(config, token_for("rv-wang", "reviewer")) as insurance:
        listed = insurance.list_enrolments({"status": "active"})
    assert listed["total"] == 1
    metrics_showing(
        config["WEB_SERVER_ADDRESS"],
        'newcitizen_insurance_enrolments{route="resident",scheme="medical",status="active"} 1.0',
    )
