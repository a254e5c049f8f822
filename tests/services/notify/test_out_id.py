"""The out_id a submission goes under, against the fake gateway over real HTTP: it stays the same while the
outcome of the last submission is unknown (the gateway's answer was lost), so the gateway answers the retry
from its record and sends one SMS; it moves on once the gateway is known to be done with it (a busy answer,
a failure receipt), so a legitimate resend is really sent; a receipt for an older submission changes
nothing."""

from datetime import timedelta

import eventlet
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from services.notify.fake_gateway import NO_RECEIPT_NUMBER, TEMPORARY_FAILURE_NUMBER
from tests.services.notify.conftest import approved, outbox_events, rows_when
from tests.support.waiting import lock_waiters, wait_for

RESIDENT = "r_" + "c" * 32
PHONE = "13812345678"


def notification_events(notify, notification_id: str) -> list[str]:
    events = outbox_events(notify)
    return sorted(e["event_type"] for e in events if e["data"]["notification_id"] == notification_id)


def send_one(notify, phone: str) -> None:
    notify.contact_event(RESIDENT, phone)
    notify.publish("subsidy_approved", approved(RESIDENT))


def test_a_lost_answer_is_retried_under_the_same_out_id_and_sent_once(start_notify, token_for):
    notify = start_notify()
    token = token_for("cw", "caseworker")
    notify.post_gateway("/test/fault", {"mode": "lose", "calls": 1})
    send_one(notify, PHONE)
    rows = rows_when(notify, token, lambda r: r[0]["status"] == "delivered", resident_id=RESIDENT)
    assert len(rows) == 1 and rows[0]["attempts"] == 2  # two tries ...
    out_id = f"{rows[0]['id']}.1"
    assert notify.gateway_submissions(rows[0]["id"]) == [
        (out_id, "sent", "lost"),
        (out_id, "duplicate", "answered"),  # ... one submission, answered from the gateway's record
    ]
    assert len(notify.gateway_messages(PHONE)) == 1
    kinds = notification_events(notify, rows[0]["id"])
    assert kinds == ["notification_delivered", "notification_sent"]


def test_a_receipt_that_comes_while_the_retry_waits_is_applied_once_the_retry_is_recorded(start_notify, token_for):
    notify = start_notify(DELIVERY_RETRY_DELAYS_SECONDS=[3600])
    token = token_for("cw", "caseworker")
    notify.post_gateway("/test/fault", {"mode": "lose", "calls": 1})
    send_one(notify, NO_RECEIPT_NUMBER)  # the gateway pushes no receipt for it: the test does
    waiting = lambda r: r[0]["status"] == "technical-failure" and r[0]["retry_at"] is not None  # noqa: E731
    rows = rows_when(notify, token, waiting, resident_id=RESIDENT)
    [sent] = notify.gateway_messages(NO_RECEIPT_NUMBER)
    receipt = {"out_id": f"{rows[0]['id']}.1", "msgid": sent["msgid"], "stat": "DELIVRD", "err": "000"}
    assert notify.push_receipts([receipt]).get("kept") == 1  # not recorded as sent yet: kept, not dropped
    notify.clock.frozen = notify.clock.now() + timedelta(hours=2)  # the retry is due
    rows = rows_when(notify, token, lambda r: r[0]["status"] == "delivered", resident_id=RESIDENT)
    assert rows[0]["attempts"] == 2 and len(notify.gateway_messages(NO_RECEIPT_NUMBER)) == 1
    assert [s[1] for s in notify.gateway_submissions(rows[0]["id"])] == ["sent", "duplicate"]


def test_a_failure_receipt_means_the_resend_is_a_new_submission_really_sent(start_notify, token_for):
    notify = start_notify()  # 13900000002: UNDELIV on the first submission, DELIVRD on the next
    token = token_for("cw", "caseworker")
    send_one(notify, TEMPORARY_FAILURE_NUMBER)
    rows = rows_when(notify, token, lambda r: r[0]["status"] == "delivered", resident_id=RESIDENT)
    nid = rows[0]["id"]
    assert notify.gateway_submissions(nid) == [(f"{nid}.1", "sent", "answered"), (f"{nid}.2", "sent", "answered")]
    assert len(notify.gateway_messages(TEMPORARY_FAILURE_NUMBER)) == 2  # two SMS: the first did not arrive


def test_a_busy_answer_means_the_retry_is_a_new_submission(start_notify, token_for):
    notify = start_notify()
    token = token_for("cw", "caseworker")
    notify.post_gateway("/test/fault", {"mode": "fail", "calls": 1})
    send_one(notify, PHONE)
    rows = rows_when(notify, token, lambda r: r[0]["status"] == "delivered", resident_id=RESIDENT)
    nid = rows[0]["id"]
    assert rows[0]["attempts"] == 2
    assert notify.gateway_submissions(nid) == [(f"{nid}.1", "busy", "answered"), (f"{nid}.2", "sent", "answered")]
    assert len(notify.gateway_messages(PHONE)) == 1


def test_a_receipt_for_an_older_submission_does_not_touch_the_current_one(start_notify, token_for):
    notify = start_notify()
    token = token_for("cw", "caseworker")
    send_one(notify, NO_RECEIPT_NUMBER)  # the gateway pushes no receipt for it: the test does
    rows = rows_when(notify, token, lambda r: r[0]["status"] == "sending", resident_id=RESIDENT)
    nid = rows[0]["id"]
    [first] = notify.gateway_messages(NO_RECEIPT_NUMBER)
    undelivered = {"out_id": f"{nid}.1", "msgid": first["msgid"], "stat": "UNDELIV", "err": "MK:0012"}
    assert notify.push_receipts([undelivered]).get("temporary-failure") == 1
    resent = lambda r: r[0]["status"] == "sending" and r[0]["attempts"] == 2  # noqa: E731
    rows_when(notify, token, resent, resident_id=RESIDENT)

    delivered_late = {**undelivered, "stat": "DELIVRD", "err": "000"}
    failed_late = {**undelivered, "err": "MK:0001"}  # would be a permanent failure
    for stale in (delivered_late, failed_late, undelivered):
        assert notify.push_receipts([stale]).get("stale") == 1
    rows = rows_when(notify, token, lambda r: True, resident_id=RESIDENT)
    assert rows[0]["status"] == "sending" and rows[0]["attempts"] == 2

    second = notify.gateway_messages(NO_RECEIPT_NUMBER)[1]
    assert second["out_id"] == f"{nid}.2"
    current = {"out_id": second["out_id"], "msgid": second["msgid"], "stat": "DELIVRD", "err": "000"}
    # in one batch with an older submission's receipt, after it: the current one still counts
    assert notify.push_receipts([current, delivered_late]) == {"delivered": 1, "stale": 1, "kept": 0}
    rows = rows_when(notify, token, lambda r: r[0]["status"] == "delivered", resident_id=RESIDENT)
    assert notification_events(notify, nid) == ["notification_delivered", "notification_sent", "notification_sent"]


def test_a_receipt_applied_twice_at_once_delivers_and_is_announced_once(start_notify, token_for):
    """A gateway that pushes a receipt again while the first push is being applied (or the sweep and a push
    meeting): the second applier read the row as `sending` before the first committed."""
    notify = start_notify()
    token = token_for("cw", "caseworker")
    send_one(notify, NO_RECEIPT_NUMBER)  # the gateway pushes no receipt for it: the test applies it, twice
    rows = rows_when(notify, token, lambda r: r[0]["status"] == "sending", resident_id=RESIDENT)
    [sent] = notify.gateway_messages(NO_RECEIPT_NUMBER)
    receipt = {"out_id": f"{rows[0]['id']}.1", "msgid": sent["msgid"], "stat": "DELIVRD", "err": "000"}
    delivery = notify.courier.delivery

    def apply(session):
        return delivery.apply_receipts(session, delivery.events.writer_for(session), "sms", [receipt])

    racer_writes = []

    def second():
        with delivery.Session() as session:
            # the racer has read the row (still `sending`) once it issues its first write
            event.listen(
                session.connection(), "before_cursor_execute", lambda _c, _r, sql, *a: racer_writes.append(sql)
            )
            outcome = apply(session)
            session.commit()
            return outcome

    with delivery.Session() as first:
        first_outcome = apply(first)
        racer = eventlet.spawn(second)
        wait_for(lambda: any(sql.lstrip().upper().startswith("UPDATE") for sql in racer_writes) or racer.dead)
        if notify.config["DATABASE_URL"].startswith("postgresql"):
            wait_for(lambda: lock_waiters(notify.config["DATABASE_URL"]) == 1, what="the racer on the row lock")
        first.commit()
    try:
        second_outcome = racer.wait()
    except OperationalError:  # SQLite refuses a writer whose snapshot went stale; the gateway pushes again
        second_outcome = {}
    assert first_outcome.get("delivered") == 1 and second_outcome.get("delivered", 0) == 0
    assert notification_events(notify, rows[0]["id"]) == ["notification_delivered", "notification_sent"]
