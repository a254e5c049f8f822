"""Appeals over RPC: who may lodge, review and read them, the normal approval effects on the broker once,
the appeal's own audit trail, and the overdue flag on the service's frozen clock."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy

from services.housing.service import HousingService
from shared.platform.clock import Clock
from shared.platform.errors import Forbidden, NotFound
from shared.platform.models import OutboxMessage, utcnow
from tests.services.housing.conftest import EventCapture, count_rows, make_id_number, subsidy_application
from tests.support.databases import migrate
from tests.support.residents import subject_of


@pytest.fixture
def platform(container_factory, service_config, db_url, token_for):
    migrate("housing", db_url)
    config = service_config(db_url)
    container = container_factory(HousingService, config)
    container.start()
    proxies = []

    def as_(sub, *roles):
        proxy = ServiceRpcProxy("housing", config, context_data={"authorization": token_for(sub, *roles)})
        proxies.append(proxy)
        return proxy.start()

    capture = EventCapture(config["AMQP_URI"])
    clock = next(dep for dep in container.dependencies if isinstance(dep, Clock))
    yield as_, capture, clock, config
    capture.close()
    for proxy in proxies:
        proxy.stop()


def outbox_count(config, event_type: str) -> int:
    return count_rows(config, OutboxMessage, routing_key=event_type)


def remote_type(call) -> str:
    with pytest.raises(RemoteError) as raised:
        call()
    return raised.value.exc_type


def test_a_resident_appeals_a_rejection_and_the_upheld_appeal_approves_once(platform):
    as_, capture, _clock, config = platform
    form = subsidy_application()
    alice, bob = as_(subject_of(form["id_number"]), "resident"), as_(subject_of(make_id_number()), "resident")
    first_reviewer, appeal_reviewer = as_("rv-1", "reviewer"), as_("rv-2", "reviewer")
    case = alice.submit_subsidy_application(form)["application_id"]
    first_reviewer.review_subsidy_application(case, "reject", "材料不全")

    with pytest.raises(NotFound):
        bob.lodge_appeal("subsidy_application", case, "不是我的")
    appeal = alice.lodge_appeal("subsidy_application", case, "材料已补齐")
    assert (appeal["status"], appeal["overdue"], appeal["refused_by"]) == ("received", False, "rv-1")
    appeal_id = appeal["appeal_id"]
    assert remote_type(lambda: alice.lodge_appeal("subsidy_application", case, "again")) == "AppealExists"
    with pytest.raises(Forbidden):
        as_("cw-1", "caseworker").start_appeal_review(appeal_id)
    assert remote_type(lambda: first_reviewer.start_appeal_review(appeal_id)) == "MakerCheckerViolation"
    assert appeal_reviewer.start_appeal_review(appeal_id)["reviewer"] == "rv-2"
    decided = appeal_reviewer.decide_appeal(appeal_id, "upheld", ["材料齐全"])
    assert appeal_reviewer.decide_appeal(appeal_id, "upheld", ["材料齐全"]) == decided  # a retried call

    assert alice.get_subsidy_application(case)["status"] == "approved"
    assert alice.get_appeal(appeal_id)["status"] == "upheld"
    assert remote_type(lambda: bob.get_appeal(appeal_id)) == "AppealNotFound"
    assert (alice.list_appeals()["total"], bob.list_appeals()["total"]) == (1, 0)
    assert [h["to_state"] for h in alice.get_case_history("appeal", appeal_id)] == [
        "received",
        "under_review",
        "upheld",
    ]
    last = alice.get_case_history("subsidy_application", case)[-1]
    assert (last["from_state"], last["to_state"], last["actor"]) == ("rejected", "approved", "rv-2")

    seen = capture.drain(until=lambda s: {"appeal_upheld", "subsidy_approved"} <= {e["event_type"] for e in s})
    assert [e["data"]["application_id"] for e in capture.of_type("subsidy_approved")] == [case]
    assert capture.of_type("appeal_upheld")[0]["data"]["reasons"] == ["材料齐全"]
    assert "材料已补齐" not in json.dumps(seen, ensure_ascii=False)  # the statement stays in housing
    assert (outbox_count(config, "subsidy_approved"), outbox_count(config, "appeal_upheld")) == (1, 1)


def test_a_caseworker_lodges_for_a_resident_and_the_clock_makes_it_overdue(platform):
    as_, _capture, clock, _config = platform
    caseworker, reviewer = as_("cw-1", "caseworker"), as_("rv-1", "reviewer")
    case = caseworker.submit_subsidy_application(subsidy_application(has_residence_permit=False))
    appeal = caseworker.appeal_subsidy_application(case["application_id"], "已取得居住证")  # the old name
    assert (appeal["refusal"], appeal["refused_by"], appeal["lodged_by"]) == ("ineligible", None, "cw-1")
    clock.frozen = utcnow() + timedelta(days=40)
    assert reviewer.get_appeal(appeal["appeal_id"])["overdue"] is True
    assert reviewer.list_appeals(overdue=True)["total"] == 1
    reviewer.start_appeal_review(appeal["appeal_id"])
    dismissed = reviewer.decide_appeal(appeal["appeal_id"], "dismissed", ["仍未取得居住证"])
    assert (dismissed["status"], dismissed["overdue"]) == ("dismissed", False)
    assert reviewer.list_appeals(overdue=True)["total"] == 0
    with pytest.raises(Forbidden):
        as_("res-x", "resident").decide_appeal(appeal["appeal_id"], "upheld", ["x"])
