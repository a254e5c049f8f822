"""Broadcasts: consent and opt-out, quiet hours on a frozen clock, and resuming after a crash without
sending anyone a second message — against the fake gateway over real HTTP."""

from datetime import UTC, datetime

from sqlalchemy import select

from services.notify.models import Notification
from shared.platform.clock import SHANGHAI
from tests.services.notify.conftest import DAYTIME, approved
from tests.support.waiting import wait_for

TITLE = {"title": "2026年新市民积分入学政策发布"}


def progress_when(notify, token, broadcast_id, predicate, timeout=60):
    seen = {}

    def check():
        with notify.rpc(token) as rpc:
            seen.update(rpc.get_broadcast(broadcast_id))
        return dict(seen) if predicate(seen) else None

    try:
        return wait_for(check, timeout=timeout)
    except AssertionError:
        raise AssertionError(f"not reached: {seen}") from None


def completed(progress):
    return progress["status"] == "completed"


def test_broadcast_reaches_consenting_contacts_but_not_opted_out_numbers(start_notify, token_for):
    notify = start_notify(at=DAYTIME)
    admin = token_for("admin", "admin")
    residents = notify.add_contacts(3)
    notify.add_contacts(2, consent=False, first=10)
    notify.add_contacts(2, town="周巷镇", first=20)
    # the first resident replies 退订 to an earlier message
    reply = {"mobile": "15000000000", "content": "退订"}
    assert notify.post_gateway("/test/inbound", reply)["forwarded"] == 200
    with notify.rpc(admin) as rpc:
        assert rpc.get_contact(residents[0])["opted_out"] is True
        broadcast = rpc.broadcast("policy_notice", {"town": "浒山"}, TITLE)
    assert broadcast["expected"] == 2 and broadcast["segment"] == {"town": "浒山街道"}
    assert (
        broadcast["body"]
        == "【慈溪新市民】新市民政策提醒：2026年新市民积分入学政策发布，详情请关注“我在慈溪”公众号。回T退订"
    )

    progress = progress_when(notify, admin, broadcast["id"], completed)
    assert progress["recorded"] == 2 and progress["by_status"]["delivered"] == 2
    assert notify.gateway_messages("15000000000") == []
    assert len(notify.gateway_messages("15000000001")) == 1

    # transactional notices still go to the opted-out number
    notify.publish("subsidy_approved", approved(residents[0]))

    def delivered():
        with notify.rpc(admin) as rpc:
            rows = rpc.list_notifications(resident_id=residents[0])
        return rows if rows and rows[0]["status"] == "delivered" else None

    wait_for(delivered)
    assert len(notify.gateway_messages("15000000000")) == 1


def test_quiet_hours_hold_promotional_until_eight_but_not_transactional(start_notify, token_for):
    notify = start_notify()
    admin = token_for("admin", "admin")
    notify.clock.frozen = datetime(2026, 3, 2, 21, 0, tzinfo=SHANGHAI).astimezone(UTC)
    residents = notify.add_contacts(3)
    with notify.rpc(admin) as rpc:
        broadcast = rpc.broadcast("policy_notice", {"all": True}, TITLE)
    progress = progress_when(notify, admin, broadcast["id"], lambda p: p["status"] == "sending")
    assert progress["by_status"]["created"] == 3

    notify.publish("subsidy_approved", approved(residents[1]))  # a decision goes at 21:00 all the same

    def approval_delivered():
        with notify.rpc(admin) as rpc:
            rows = rpc.list_notifications(resident_id=residents[1])
        return [r for r in rows if r["template_id"] == "subsidy_approved" and r["status"] == "delivered"]

    wait_for(approval_delivered)
    with notify.rpc(admin) as rpc:
        held = rpc.list_notifications(status="created")
    assert len(held) == 3 and {r["hold_reason"] for r in held} == {"quiet-hours"}
    assert notify.gateway_stats().get("accepted") == 1  # only the approval

    notify.clock.frozen = datetime(2026, 3, 3, 7, 59, tzinfo=SHANGHAI).astimezone(UTC)
    notify.courier.wake()
    with notify.rpc(admin) as rpc:
        assert rpc.get_broadcast(broadcast["id"])["by_status"]["created"] == 3

    notify.clock.frozen = datetime(2026, 3, 3, 8, 0, tzinfo=SHANGHAI).astimezone(UTC)
    progress = progress_when(notify, admin, broadcast["id"], completed)
    assert progress["by_status"]["delivered"] == 3
    assert notify.gateway_stats()["accepted"] == 4


def test_broadcast_resumes_after_a_crash_without_duplicates(start_notify, token_for):
    total = 200
    notify = start_notify(
        at=DAYTIME,
        DISPATCH_ENABLED=False,
        JOBS_ENABLED=False,
        JOB_CHUNK_SIZE=40,
        DISPATCH_CLAIM_SIZE=30,
        DISPATCH_LEASE_SECONDS=1,
    )
    admin = token_for("admin", "admin")
    notify.add_contacts(total)
    with notify.rpc(admin) as rpc:
        broadcast = rpc.broadcast("policy_notice", {"all": True}, TITLE)
    assert notify.jobs.step() and notify.jobs.step()  # two chunks of the recording job
    with notify.rpc(admin) as rpc:
        assert rpc.get_broadcast(broadcast["id"])["recorded"] == 80  # the cursor committed with each page
        job = rpc.job_status(rpc.get_broadcast(broadcast["id"])["job_id"])
        assert (job["kind"], job["key"], job["status"]) == ("broadcast_recording", broadcast["id"], "running")
        assert (job["done"], job["total"], job["started_by"]) == (80, total, "admin")
    courier = notify.courier

    delivery = courier.delivery
    # a claim handed to the gateway whose result was never recorded: the process dies right after the HTTP call
    with delivery.Session() as session:
        token = delivery.claim(session, notify.clock.now())
        rows = session.scalars(select(Notification).where(Notification.lease_owner == token)).all()
        outgoing = delivery._outgoing(session, rows)
        session.commit()
    assert len(delivery._send(outgoing)["sms"]) == 30
    assert delivery.dispatch() == 30  # and one claim that was recorded

    notify.restart(DISPATCH_ENABLED=True, JOBS_ENABLED=True)
    progress = progress_when(notify, admin, broadcast["id"], completed)
    assert progress["recorded"] == total and progress["by_status"]["delivered"] == total

    messages = notify.gateway_messages()
    assert len(messages) == total
    assert len({m["mobile"] for m in messages}) == total
    assert notify.gateway_stats()["duplicates"] == 30  # resent with the same out_id, de-duplicated
