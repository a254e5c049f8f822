"""Every decision on a housing case is traceable: who, from what to what, why, under which policy row."""

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from services.housing.service import HousingService
from shared.platform.errors import Forbidden, NotFound
from tests.support.databases import migrate
from tests.support.residents import application, id_number, subject_of


@pytest.fixture
def call(container_factory, service_config, db_url, token_for):
    migrate("housing", db_url)
    config = service_config(db_url)
    container_factory(HousingService, config).start()
    proxies = []

    def as_(sub, *roles):
        proxy = ServiceRpcProxy("housing", config, context_data={"authorization": token_for(sub, *roles)})
        proxies.append(proxy)
        return proxy.start()

    yield as_
    for proxy in proxies:
        proxy.stop()


def test_approval_history_names_actors_states_and_policy(call):
    caseworker, reviewer = call("cw-1", "caseworker"), call("rv-1", "reviewer")
    case = caseworker.submit_subsidy_application(application(phone="13812345678"))["application_id"]
    reviewer.review_subsidy_application(case, "approve")
    history = reviewer.get_case_history("subsidy_application", case)
    assert [(h["from_state"], h["to_state"], h["actor"]) for h in history] == [
        (None, "submitted", "cw-1"),
        ("submitted", "approved", "rv-1"),
    ]
    assert history[1]["policy_ref"] and history[1]["changes"]["monthly_subsidy_fen"] > 0
    assert history[0]["correlation_id"] != history[1]["correlation_id"]
    assert "13812345678" not in str(history)


def test_rejection_records_the_reason_masked(call):
    caseworker, reviewer = call("cw-1", "caseworker"), call("rv-1", "reviewer")
    case = caseworker.submit_subsidy_application(application())["application_id"]
    reviewer.review_subsidy_application(case, "reject", "电话13812345678无法接通，材料不全")
    last = reviewer.get_case_history("subsidy_application", case)[-1]
    assert (last["to_state"], last["reason"]) == ("rejected", "电话138****5678无法接通，材料不全")


def test_a_resident_reads_only_their_own_case(call):
    form = application()
    alice, bob = call(subject_of(form["id_number"]), "resident"), call(subject_of(id_number()), "resident")
    case = alice.submit_subsidy_application(form)["application_id"]
    assert alice.get_case_history("subsidy_application", case)[0]["to_state"] == "submitted"
    with pytest.raises(NotFound):
        bob.get_case_history("subsidy_application", case)


def test_history_needs_a_staff_or_resident_role(call):
    case = call("cw-1", "caseworker").submit_subsidy_application(application())["application_id"]
    with pytest.raises(Forbidden):
        call("svc", "service").get_case_history("subsidy_application", case)
