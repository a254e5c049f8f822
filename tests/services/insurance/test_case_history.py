"""Over RPC: an enrolment's history names who moved it and why, is readable by staff and by the resident
who acts for the case only, and an appeal against its rejection reinstates it through activation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from services.insurance.service import InsuranceService
from shared.platform.clock import local_today
from shared.platform.errors import Forbidden, NotFound
from shared.platform.personal_data_provider import PiiTools, keys_from_config
from tests.support.databases import migrate

from .conftest import id_number, years_before

PERMIT = {"number": "ZJ33028277", "issued_in_cixi": True, "valid_until": "2099-12-31"}


@pytest.fixture
def call(container_factory, service_config, db_url, token_for):
    migrate("insurance", db_url)
    config = service_config(db_url, RENEWAL_SWEEP_SECONDS=3600)
    container_factory(InsuranceService, config).start()
    proxies = []

    def as_(sub, *roles):
        proxy = ServiceRpcProxy("insurance", config, context_data={"authorization": token_for(sub, *roles)})
        proxies.append(proxy)
        return proxy.start()

    as_.pii = PiiTools(keys_from_config(config))
    yield as_
    for proxy in proxies:
        proxy.stop()


def test_a_rejected_enrolment_is_traced_and_reinstated_on_appeal(call):
    caseworker, reviewer, appeal_reviewer = (
        call("cw-1", "caseworker"),
        call("rv-1", "reviewer"),
        call("rv-2", "reviewer"),
    )
    worker = id_number(years_before(local_today(), 31), serial=73)
    resident = {"id_number": worker, "hukou": "other", "residence_permit": PERMIT}
    start = (local_today() - timedelta(days=10)).isoformat()
    caseworker.register_employment({"resident": resident, "kind": "flexible", "start_date": start, "town": "浒山"})
    enrolment = caseworker.enrol_pension(
        {"resident": resident, "route": "flexible", "town": "浒山街道", "contribution_base_fen": 500_000}
    )["enrolment_id"]
    reviewer.reject_enrolment(enrolment, "documents_incomplete", "登记材料不全")

    history = reviewer.get_case_history("enrolment", enrolment)
    assert [(h["from_state"], h["to_state"], h["actor"]) for h in history] == [
        (None, "pending", "cw-1"),
        ("pending", "rejected", "rv-1"),
    ]
    assert history[1]["reason"] == "documents_incomplete: 登记材料不全" and worker not in str(history)
    own = call(call.pii.resident_id(worker), "resident")
    assert len(own.get_case_history("enrolment", enrolment)) == 2
    with pytest.raises(NotFound):
        call("someone-else", "resident").get_case_history("enrolment", enrolment)
    with pytest.raises(Forbidden):
        call("svc", "service").get_case_history("enrolment", enrolment)

    appeal = own.lodge_appeal("enrolment", enrolment, "已补交登记材料")
    appeal_reviewer.start_appeal_review(appeal["appeal_id"])
    assert appeal_reviewer.decide_appeal(appeal["appeal_id"], "upheld", ["材料齐全"])["status"] == "upheld"
    assert own.get_enrolment(enrolment)["status"] == "active"
    last = own.get_case_history("enrolment", enrolment)[-1]
    assert (last["from_state"], last["to_state"], last["actor"]) == ("rejected", "active", "rv-2")
    assert [h["to_state"] for h in own.get_case_history("appeal", appeal["appeal_id"])] == [
        "received",
        "under_review",
        "upheld",
    ]
