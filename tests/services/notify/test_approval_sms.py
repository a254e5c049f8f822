"""The core promise: an approved subsidy produces exactly one SMS with the right text and a final status."""

import pytest

from shared.platform.errors import Forbidden
from tests.services.notify.conftest import approved
from tests.support.waiting import wait_for

PHONE = "13812345678"
RESIDENT = "r_" + "a" * 32


def final(notify, token, **filters):
    seen = []

    def check():
        with notify.rpc(token) as rpc:
            rows = rpc.list_notifications(**filters)
        seen[:] = rows
        return rows if rows and all(row["status"] in ("delivered", "permanent-failure") for row in rows) else None

    try:
        return wait_for(check)
    except AssertionError:
        raise AssertionError(f"not final: {seen}") from None


def test_approval_sends_one_sms_through_the_gateway_even_when_delivered_twice(start_notify, token_for):
    notify = start_notify()
    token = token_for("caseworker-1", "caseworker")
    notify.contact_event(RESIDENT, PHONE)
    envelope = notify.publish("subsidy_approved", approved(RESIDENT, 84050))
    notify.publish("subsidy_approved", approved(RESIDENT, 84050), event_id=envelope["event_id"])  # a redelivery

    rows = final(notify, token, resident_id=RESIDENT)
    assert len(rows) == 1
    row = rows[0]
    assert row["status"] == "delivered"
    assert row["channel"] == "sms"
    assert row["body"] == "【慈溪新市民】您的公共租赁住房租赁补贴申请已获批准，每月补贴840.5元，将按月发放。"
    assert row["segments"] == 1 and row["billed_length"] == len(row["body"])
    assert row["template_id"] == "subsidy_approved" and row["template_version"] == 1
    assert row["phone"] == "138****5678"
    assert PHONE not in repr(row)
    assert row["source_event_id"] == envelope["event_id"]

    # the same record, looked up by the number in clear
    with notify.rpc(token) as rpc:
        by_phone = rpc.list_notifications(phone=PHONE)
        assert [r["id"] for r in by_phone] == [row["id"]]
        assert rpc.get_notification(row["id"])["status"] == "delivered"
    # and the gateway got exactly one message
    assert len(notify.gateway_messages(PHONE)) == 1


def test_approval_before_the_contact_is_held_then_sent(start_notify, token_for):
    notify = start_notify()
    token = token_for("reviewer-1", "reviewer")
    notify.publish("subsidy_approved", approved(RESIDENT))

    def held():
        with notify.rpc(token) as rpc:
            return rpc.list_notifications(resident_id=RESIDENT)

    row = wait_for(held)[0]
    assert row["status"] == "created" and row["hold_reason"] == "awaiting-contact" and row["phone"] is None

    notify.contact_event(RESIDENT, PHONE)
    rows = final(notify, token, resident_id=RESIDENT)
    assert len(rows) == 1 and rows[0]["status"] == "delivered" and rows[0]["phone"] == "138****5678"
    assert "840元" in rows[0]["body"]


def test_log_provider_records_and_delivers(start_notify, token_for):
    notify = start_notify(gateway=False)
    token = token_for("admin-1", "admin")
    notify.contact_event(RESIDENT, PHONE)
    notify.publish("subsidy_approved", approved(RESIDENT))
    rows = final(notify, token, phone=PHONE)
    assert len(rows) == 1 and rows[0]["status"] == "delivered" and rows[0]["provider"] == "log"


@pytest.mark.parametrize("role", ["resident", "service"])
def test_list_notifications_needs_a_staff_role(start_notify, token_for, role):
    notify = start_notify(gateway=False)
    with notify.rpc(token_for("someone", role)) as rpc, pytest.raises(Forbidden):
        rpc.list_notifications(resident_id=RESIDENT)


def test_backfilled_history_is_not_messaged(start_notify, token_for):
    notify = start_notify(gateway=False)
    token = token_for("admin-1", "admin")
    notify.contact_event(RESIDENT, PHONE)
    notify.publish("subsidy_approved", {**approved(RESIDENT), "backfill": True})
    notify.publish("subsidy_approved", approved(RESIDENT, 70000))  # live: the marker that the first was handled
    rows = final(notify, token, phone=PHONE)
    assert len(rows) == 1 and "700元" in rows[0]["body"]
