"""Insurance and events, black-box over RPC against all five services running as processes: an activated
enrolment and a confirmed activity registration each yield exactly one SMS and one stats count."""

from datetime import timedelta

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from shared.platform.clock import local_today, utcnow
from tests.support.platform import running_platform
from tests.support.residents import id_number, phone
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

PERMIT = {"number": "ZJ33028277", "issued_in_cixi": True, "valid_until": "2099-12-31"}


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    with running_platform(tmp_path_factory.mktemp("notices")) as running:
        yield running


@pytest.fixture(scope="module")
def rpc(platform):
    roles = {"caseworker": ("caseworker",), "reviewer": ("reviewer",), "admin": ("admin",)}
    proxies = {
        name: ClusterRpcProxy(
            platform.rpc_config(), context_data={"authorization": platform.token(name, *held)}, timeout=30
        )
        for name, held in roles.items()
    }
    yield {name: proxy.start() for name, proxy in proxies.items()}
    for proxy in proxies.values():
        proxy.stop()


def counter(rpc, name: str) -> int:
    return rpc["admin"].stats.summary()["counters"].get(name, 0)


def delivered_sms(rpc, number: str) -> list[dict]:
    """Every notification to this number once all of them are final and at least one exists."""
    rows = rpc["admin"].notify.list_notifications(phone=number)
    return rows if rows and all(row["status"] == "delivered" for row in rows) else []


def test_an_activated_enrolment_gives_one_sms_and_one_count(rpc):
    before = counter(rpc, "insurance.enrolment_activated")
    worker = {"id_number": id_number(birth="19900101"), "hukou": "other", "residence_permit": PERMIT}
    started = (local_today() - timedelta(days=10)).isoformat()
    number = phone()
    insurance = rpc["caseworker"].insurance
    insurance.register_employment({"resident": worker, "kind": "flexible", "start_date": started, "town": "坎墩"})
    enrolment = insurance.enrol_pension(
        {"resident": worker, "route": "flexible", "town": "坎墩", "contribution_base_fen": 600_000}
    )
    rpc["caseworker"].notify.upsert_contact(enrolment["resident_id"], phone=number)  # insurance sends no contact
    rpc["reviewer"].insurance.activate_enrolment(enrolment["enrolment_id"])

    [sms] = wait_for(lambda: delivered_sms(rpc, number), timeout=30)
    assert sms["template_id"] == "enrolment_activated" and sms["resident_id"] == enrolment["resident_id"]
    assert "企业职工基本养老保险已参保生效" in sms["body"] and "个人每月缴费1200元" in sms["body"]
    assert wait_for(lambda: counter(rpc, "insurance.enrolment_activated") == before + 1)


def test_an_activity_registration_gives_one_confirmation_sms_and_one_count(rpc):
    before = counter(rpc, "events.registration_confirmed")
    staff = rpc["caseworker"].events
    venue = staff.create_venue({"name": f"宗汉街道文化家园{before}", "kind": "community_centre", "town": "宗汉"})
    starts = utcnow().replace(microsecond=0) + timedelta(days=20)  # far from any reminder; the platform clock
    activity = staff.create_activity(
        {
            "title": "防溺水安全讲座",
            "kind": "drowning_prevention",
            "venue_id": venue["id"],
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(),
            "capacity": 30,
        }
    )
    number = phone()
    registered = staff.register({"activity_id": activity["id"], "id_number": id_number(), "phone": number})
    assert registered["status"] == "confirmed", registered

    [sms] = wait_for(lambda: delivered_sms(rpc, number), timeout=30)
    assert sms["template_id"] == "registration_confirmed"
    assert sms["body"].startswith("【慈溪新市民】您已成功报名“防溺水安全讲座”") and "宗汉街道文化家园" in sms["body"]
    assert wait_for(lambda: counter(rpc, "events.registration_confirmed") == before + 1)
