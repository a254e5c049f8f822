"""The design's promise, black-box over RPC against all five services running as processes:
an approved subsidy yields exactly one SMS record with a final status and one stats count."""

import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy

from tests.support.broker import publish_raw
from tests.support.platform import running_platform
from tests.support.residents import application
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

FINAL = {"delivered", "permanent-failure", "technical-failure"}


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    with running_platform(tmp_path_factory.mktemp("core")) as running:
        yield running


@pytest.fixture(scope="module")
def rpc(platform):
    def call(role_sub: str, *roles: str):
        return ClusterRpcProxy(
            platform.rpc_config(), context_data={"authorization": platform.token(role_sub, *roles)}, timeout=30
        )

    proxies = {
        name: call(name, *roles)
        for name, roles in {"caseworker": ("caseworker",), "reviewer": ("reviewer",), "admin": ("admin",)}.items()
    }
    yield {name: proxy.start() for name, proxy in proxies.items()}
    for proxy in proxies.values():
        proxy.stop()


def sms_for(rpc, phone):
    return rpc["admin"].notify.list_notifications(phone=phone)


def approvals(rpc) -> int:
    return rpc["admin"].stats.summary()["counters"].get("housing.subsidy_approved", 0)


def test_approval_gives_one_sms_with_final_status_and_one_count(rpc, platform):
    before = approvals(rpc)
    form = application()
    submitted = rpc["caseworker"].housing.submit_subsidy_application(form)
    assert submitted["status"] == "submitted", submitted
    approved = rpc["reviewer"].housing.review_subsidy_application(submitted["application_id"], "approve")
    assert approved["status"] == "approved" and isinstance(approved["monthly_subsidy_fen"], int)

    listed = wait_for(lambda: [n for n in sms_for(rpc, form["phone"]) if n["status"] in FINAL], timeout=30)
    assert len(listed) == 1, sms_for(rpc, form["phone"])
    sms = listed[0]
    assert sms["status"] == "delivered"
    assert sms["body"].startswith("【慈溪新市民】") and "获批" in sms["body"]
    assert f"{approved['monthly_subsidy_fen'] // 100}" in sms["body"]
    assert form["phone"] not in str(sms) and sms["phone"] == form["phone"][:3] + "****" + form["phone"][-4:]
    assert wait_for(lambda: approvals(rpc) == before + 1)


def test_redelivered_approval_changes_nothing(rpc, platform):
    form = application()
    submitted = rpc["caseworker"].housing.submit_subsidy_application(form)
    approved = rpc["reviewer"].housing.review_subsidy_application(submitted["application_id"], "approve")
    assert wait_for(lambda: len(sms_for(rpc, form["phone"])) == 1)
    count = approvals(rpc)
    event = wait_for(lambda: _approval_event(platform, approved["application_id"]))
    for _ in range(3):
        publish_raw(platform.amqp_uri, "housing", "subsidy_approved", event)
    marker = application()  # a later approval: once it is counted, the duplicates ahead of it were handled
    marked = rpc["caseworker"].housing.submit_subsidy_application(marker)
    rpc["reviewer"].housing.review_subsidy_application(marked["application_id"], "approve")
    assert wait_for(lambda: len(sms_for(rpc, marker["phone"])) == 1 and approvals(rpc) == count + 1)
    assert len(sms_for(rpc, form["phone"])) == 1


def test_rejection_sends_the_rejection_sms(rpc):
    form = application()
    submitted = rpc["caseworker"].housing.submit_subsidy_application(form)
    rejected = rpc["reviewer"].housing.review_subsidy_application(submitted["application_id"], "reject", "租金凭证不全")
    assert rejected["status"] == "rejected"
    listed = wait_for(lambda: [n for n in sms_for(rpc, form["phone"]) if n["status"] in FINAL], timeout=30)
    assert len(listed) == 1 and "未获批准" in listed[0]["body"]


def test_a_second_approval_is_refused(rpc):
    form = application()
    submitted = rpc["caseworker"].housing.submit_subsidy_application(form)
    rpc["reviewer"].housing.review_subsidy_application(submitted["application_id"], "approve")
    with pytest.raises(RemoteError) as caught:
        rpc["reviewer"].housing.review_subsidy_application(submitted["application_id"], "approve")
    assert caught.value.exc_type not in ("InternalError", "RemoteError")
    assert wait_for(lambda: len(sms_for(rpc, form["phone"])) == 1)


def test_no_id_or_phone_in_the_logs(rpc, platform):
    import re

    forms = [application() for _ in range(3)]
    for form in forms:
        submitted = rpc["caseworker"].housing.submit_subsidy_application(form)
        rpc["reviewer"].housing.review_subsidy_application(submitted["application_id"], "approve")
    assert wait_for(lambda: all(len(sms_for(rpc, f["phone"])) == 1 for f in forms))
    logs = platform.logs()
    for form in forms:
        assert form["id_number"] not in logs and form["phone"] not in logs
    assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", logs), "a mobile number in the clear in a log line"


def _approval_event(platform, application_id):
    """The approval envelope exactly as housing published it, read back from housing's outbox (the
    sandbox's own SQLite file)."""
    import json

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from shared.platform.db import make_engine
    from shared.platform.models import OutboxMessage

    engine = make_engine(platform.env["HOUSING_DATABASE_URL"])
    with Session(engine) as session:
        for row in session.scalars(select(OutboxMessage).where(OutboxMessage.routing_key == "subsidy_approved")):
            body = json.loads(row.body)
            if body["data"]["application_id"] == application_id:
                engine.dispose()
                return body
    engine.dispose()
    return None
