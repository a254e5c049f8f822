"""Delivery against the fake gateway over real HTTP: retries, permanent failure with WeChat fallback,
receipt timeout, rate limiting, the per-number daily cap, and events for stats in the outbox."""

import json
from datetime import UTC, datetime

import pytest

from services.notify.fake_gateway import NO_RECEIPT_NUMBER, PERMANENT_FAILURE_NUMBER, TEMPORARY_FAILURE_NUMBER
from shared.platform.clock import SHANGHAI
from shared.platform.errors import ValidationError
from tests.services.notify.conftest import DAYTIME, approved, outbox_events, rows_when
from tests.support.waiting import wait_for

RESIDENT = "r_" + "b" * 32
FINAL = ("delivered", "permanent-failure")


def test_temporary_failure_is_retried_then_delivered(start_notify, token_for):
    notify = start_notify()
    token = token_for("cw", "caseworker")
    notify.contact_event(RESIDENT, TEMPORARY_FAILURE_NUMBER)
    notify.publish("subsidy_approved", approved(RESIDENT))
    rows = rows_when(notify, token, lambda rows: rows[0]["status"] == "delivered", resident_id=RESIDENT)
    assert len(rows) == 1 and rows[0]["attempts"] == 2
    sent = notify.gateway_messages(TEMPORARY_FAILURE_NUMBER)
    assert [m["out_id"].rsplit(".", 1)[1] for m in sent] == ["1", "2"]

    events = [e for e in outbox_events(notify) if e["data"]["notification_id"] == rows[0]["id"]]
    kinds = sorted(e["event_type"] for e in events)
    assert kinds == ["notification_delivered", "notification_sent", "notification_sent"]
    assert all(TEMPORARY_FAILURE_NUMBER not in json.dumps(e) for e in events)


def test_temporary_failures_stop_after_the_retry_limit(start_notify, token_for):
    notify = start_notify(gateway_options={"temp_failures": 10})
    token = token_for("cw", "caseworker")
    notify.contact_event(RESIDENT, TEMPORARY_FAILURE_NUMBER)
    notify.publish("subsidy_approved", approved(RESIDENT))
    exhausted = lambda r: r[0]["status"] == "temporary-failure" and r[0]["retry_at"] is None  # noqa: E731
    rows = rows_when(notify, token, exhausted, resident_id=RESIDENT)
    assert rows[0]["attempts"] == 3  # the first try and two retries (DELIVERY_RETRY_DELAYS_SECONDS has two)
    assert "MK:0012" in rows[0]["failure_reason"]
    failed = [e for e in outbox_events(notify) if e["event_type"] == "notification_failed"]
    assert [e["data"]["status"] for e in failed] == ["temporary-failure"]


def test_permanent_failure_falls_back_to_wechat(start_notify, token_for):
    notify = start_notify()
    token = token_for("cw", "caseworker")
    with notify.rpc(token) as rpc:
        rpc.upsert_contact(RESIDENT, phone=PERMANENT_FAILURE_NUMBER, wechat_openid="o_follower_1", town="浒山")
    notify.publish("subsidy_approved", approved(RESIDENT))
    rows = rows_when(
        notify, token, lambda r: len(r) == 2 and all(x["status"] in FINAL for x in r), resident_id=RESIDENT
    )
    sms = next(r for r in rows if r["channel"] == "sms")
    wechat = next(r for r in rows if r["channel"] == "wechat")
    assert sms["status"] == "permanent-failure" and "MK:0001" in sms["failure_reason"]
    assert wechat["status"] == "delivered" and wechat["fallback_of"] == sms["id"]
    assert wechat["body"] == sms["body"]
    failed = [e for e in outbox_events(notify) if e["event_type"] == "notification_failed"]
    assert [(e["data"]["status"], e["data"]["fallback"]) for e in failed] == [("permanent-failure", True)]


def test_permanent_failure_without_openid_is_final(start_notify, token_for):
    notify = start_notify()
    token = token_for("cw", "caseworker")
    notify.contact_event(RESIDENT, PERMANENT_FAILURE_NUMBER)
    notify.publish("subsidy_approved", approved(RESIDENT))
    rows = rows_when(notify, token, lambda r: r[0]["status"] == "permanent-failure", resident_id=RESIDENT)
    assert len(rows) == 1 and rows[0]["attempts"] == 1


def test_a_message_without_receipt_times_out(start_notify, token_for):
    notify = start_notify(RECEIPT_TIMEOUT_SECONDS=1)
    token = token_for("cw", "caseworker")
    notify.contact_event(RESIDENT, NO_RECEIPT_NUMBER)
    notify.publish("subsidy_approved", approved(RESIDENT))
    rows_when(notify, token, lambda r: r[0]["status"] == "sending", resident_id=RESIDENT)
    rows = rows_when(notify, token, lambda r: r[0]["status"] == "temporary-failure", resident_id=RESIDENT)
    assert rows[0]["failure_reason"] == "no delivery receipt in time" and rows[0]["retry_at"] is None
    assert len(notify.gateway_messages(NO_RECEIPT_NUMBER)) == 1  # not resent: it may have arrived


def statuses(rows: list[dict]) -> list[tuple]:
    """(status, hold reason) of each row, sorted: rows recorded at one frozen instant have no order."""
    return sorted((r["status"], r["hold_reason"]) for r in rows)


def test_per_number_daily_cap_holds_the_excess_until_midnight_in_cixi(start_notify, token_for):
    mine = {"resident_id": RESIDENT}
    notify = start_notify(gateway=False, DAILY_CAP_PER_NUMBER=1)
    notify.clock.frozen = datetime(2026, 3, 31, 23, 58, tzinfo=SHANGHAI).astimezone(UTC)  # a month's last day
    token = token_for("cw", "caseworker")
    notify.contact_event(RESIDENT, "13812345678")
    notify.publish("subsidy_approved", approved(RESIDENT))
    rows_when(notify, token, lambda r: r[0]["status"] == "delivered", resident_id=RESIDENT)
    notify.publish("subsidy_approved", approved(RESIDENT))  # another event: a second notification
    rows = rows_when(notify, token, lambda r: statuses(r) == [("created", "daily-cap"), ("delivered", None)], **mine)
    assert statuses(rows) == [("created", "daily-cap"), ("delivered", None)]

    notify.clock.frozen = datetime(2026, 3, 31, 23, 59, 59, tzinfo=SHANGHAI).astimezone(UTC)
    notify.courier.wake()
    assert notify.courier.delivery.dispatch() == 0  # nothing due before midnight
    with notify.rpc(token) as rpc:
        assert statuses(rpc.list_notifications(**mine)) == [("created", "daily-cap"), ("delivered", None)]

    notify.clock.frozen = datetime(2026, 4, 1, 0, 0, tzinfo=SHANGHAI).astimezone(UTC)  # 16:00 UTC: a new day here
    notify.courier.wake()
    rows_when(notify, token, lambda r: statuses(r) == [("delivered", None), ("delivered", None)], **mine)


def test_gateway_rate_limit_is_respected_without_losing_or_doubling(start_notify, token_for):
    notify = start_notify(
        # 40 a second after a burst of 100: the next batch comes sooner than the tokens for it however slow
        # the machine (at 150 a second a loaded run sent too slowly to be refused at all)
        at=DAYTIME,
        gateway_options={"rate": 40, "burst": 100},
        SMS_RATE_PER_SECOND=10_000,
        SMS_BURST=10_000,
    )
    token = token_for("admin", "admin")
    notify.add_contacts(250)
    with notify.rpc(token) as rpc:
        broadcast = rpc.broadcast("policy_notice", {"all": True}, {"title": "居住证办理指南"})

    def done():
        with notify.rpc(token) as rpc:
            progress = rpc.get_broadcast(broadcast["id"])
        return progress if progress["status"] == "completed" else None

    progress = wait_for(done, timeout=60)
    assert progress["by_status"]["delivered"] == 250
    stats = notify.gateway_stats()
    assert stats["throttled_calls"] > 0  # the gateway said 429 and notify waited
    assert stats["accepted"] == 250


def test_contact_with_a_bad_phone_is_refused(start_notify, token_for):
    notify = start_notify(gateway=False)
    with notify.rpc(token_for("cw", "caseworker")) as rpc, pytest.raises(ValidationError) as error:
        rpc.upsert_contact(RESIDENT, phone="12345")
    assert "phone" in error.value.errors
