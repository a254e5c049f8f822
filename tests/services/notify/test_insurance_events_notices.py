"""Every consumed event as SMS (housing, insurance, events, appeals): one notification per (event, template,
recipient) however often an event is delivered — real RabbitMQ, SQLite and PostgreSQL, log provider."""

from sqlalchemy import select

from services.notify.models import Notification
from services.notify.subscriptions import NOTICES as NOTIFY_NOTICES
from services.notify.subscriptions import handler_name
from shared.platform.db import make_engine
from shared.platform.metrics import EVENTS_CONSUMED
from shared.platform.models import ProcessedEvent
from tests.services.notify.conftest import WAIT_SECONDS
from tests.services.notify.samples import ACTIVATED, ACTIVITY, NOTICES, enrolment, recipient, resident
from tests.support.metrics import sample_value
from tests.support.waiting import wait_for

STAFF = ("cw", "caseworker")


def give_contact(notify, resident_id: str, phone: str) -> None:
    """As the events service does at registration (events.contact_provided carries no category)."""
    phone_encrypted = notify.pii.encrypt(phone, bound_to=resident_id)
    data = {"resident_id": resident_id, "phone_encrypted": phone_encrypted, "town": "浒山"}
    notify.publish("contact_provided", data, source="events")


def publish_twice(notify, source: str, event_type: str, data: dict) -> dict:
    envelope = notify.publish(event_type, data, source=source)
    notify.publish(event_type, data, event_id=envelope["event_id"], source=source)
    return envelope


def duplicates_skipped(*kinds: tuple[str, str]) -> float:
    """Redeliveries notify's consumers of these kinds have recognised and skipped (this process, all tests)."""
    return sum(
        sample_value(
            EVENTS_CONSUMED,
            service="notify",
            consumer=f"notify.{handler_name(source, event_type)}",
            outcome="duplicate",
        )
        for source, event_type in kinds
    )


def delivered(notify, token, resident_id: str, count: int = 1):
    """The resident's notifications once `count` are delivered (bounded wait)."""

    def check():
        with notify.rpc(token) as rpc:
            rows = rpc.list_notifications(resident_id=resident_id)
        return rows if len([r for r in rows if r["status"] == "delivered"]) >= count else None

    return wait_for(check)


def rows_of(notify, **where) -> list[Notification]:
    engine = make_engine(notify.config["DATABASE_URL"])
    with engine.connect() as connection:
        query = select(Notification).filter_by(**where).order_by(Notification.dedupe_key)
        rows = connection.execute(query).all()
    engine.dispose()
    return rows


def test_every_notice_is_one_sms_with_its_text_however_often_delivered(start_notify, token_for):
    notify = start_notify(gateway=False)
    token = token_for(*STAFF)
    skipped = duplicates_skipped(*NOTICES)
    for n, ((source, event_type), (data, _)) in enumerate(NOTICES.items()):
        give_contact(notify, recipient(data), f"1380000{n:04d}")
        publish_twice(notify, source, event_type, data)
    # every kind of notice, each delivered twice: a bound for all of them, not the one for a single event
    wait_for(lambda: duplicates_skipped(*NOTICES) == skipped + len(NOTICES), timeout=3 * WAIT_SECONDS)

    wrong = {}
    for (source, event_type), (data, text) in NOTICES.items():
        rows = delivered(notify, token, recipient(data))
        got = [(r["template_id"], r["kind"], r["body"]) for r in rows]
        if got != [(NOTIFY_NOTICES[(source, event_type)].template, "transactional", text)]:
            wrong[f"{source}.{event_type}"] = got
    assert wrong == {}


def test_a_childs_enrolment_is_told_to_the_guardian(start_notify, token_for):
    notify = start_notify(gateway=False)
    token = token_for(*STAFF)
    child, guardian = resident(301), resident(302)
    data = enrolment(301, guardian_resident_id=guardian, scheme="medical", route="newborn", **ACTIVATED)
    data.update(monthly_contribution_fen=None, contribution_base_fen=None, yearly_contribution_fen=43_000)
    data.update(coverage_end="2027-03-01")  # medical runs in yearly periods
    give_contact(notify, guardian, "13800003020")
    skipped = duplicates_skipped(("insurance", "enrolment_activated"))
    envelope = publish_twice(notify, "insurance", "enrolment_activated", data)
    wait_for(lambda: duplicates_skipped(("insurance", "enrolment_activated")) == skipped + 1)

    [sms] = delivered(notify, token, guardian)
    assert sms["body"] == (
        "【慈溪新市民】您子女的城乡居民医保已参保生效，保障期2026年3月2日至2027年3月1日，个人年缴费430元。"
    )
    assert sms["source_event_id"] == envelope["event_id"]
    with notify.rpc(token) as rpc:
        assert rpc.list_notifications(resident_id=child) == []
    [row] = rows_of(notify, source_event_id=envelope["event_id"])
    assert row.dedupe_key == f"event:{envelope['event_id']}:enrolment_activated:{guardian}"


def test_a_rescheduled_activity_tells_each_registrant_once(start_notify, token_for):
    notify = start_notify(gateway=False)
    token = token_for(*STAFF)
    holders = [resident(401), resident(402), resident(403)]
    for n, holder in enumerate(holders):
        give_contact(notify, holder, f"1380000401{n}")
    data = {**ACTIVITY, "previous_starts_at": "2025-07-02T02:00:00+00:00", "resident_ids": [*holders, holders[0]]}
    skipped = duplicates_skipped(("events", "activity_rescheduled"))
    envelope = publish_twice(notify, "events", "activity_rescheduled", data)
    wait_for(lambda: duplicates_skipped(("events", "activity_rescheduled")) == skipped + 1)

    for holder in holders:
        [sms] = delivered(notify, token, holder)
        assert sms["template_id"] == "activity_rescheduled" and "调整为7月3日10:00" in sms["body"]
    keys = [row.dedupe_key for row in rows_of(notify, source_event_id=envelope["event_id"])]
    assert keys == sorted(f"event:{envelope['event_id']}:activity_rescheduled:{holder}" for holder in holders)


def test_an_on_time_employment_registration_is_not_messaged(start_notify, token_for):
    notify = start_notify(gateway=False)
    data, _ = NOTICES[("insurance", "employment_registered")]
    data = {**data, "resident_id": resident(501), "days_after_start": 10, "late": False}
    give_contact(notify, resident(501), "13800005010")
    envelope = notify.publish("employment_registered", data, source="insurance")

    def handled():
        engine = make_engine(notify.config["DATABASE_URL"])
        with engine.connect() as connection:
            found = connection.execute(
                select(ProcessedEvent).where(ProcessedEvent.event_id == envelope["event_id"])
            ).first()
        engine.dispose()
        return found

    assert wait_for(handled).consumer == "notify.on_insurance_employment_registered"
    assert rows_of(notify, resident_id=resident(501)) == []


def test_events_contact_is_stored_without_a_category(start_notify, token_for):
    notify = start_notify(gateway=False)
    give_contact(notify, resident(601), "+86 138-0000-6010")

    def contact():
        with notify.rpc(token_for(*STAFF)) as rpc:
            try:
                return rpc.get_contact(resident(601))
            except Exception:  # not stored yet
                return None

    stored = wait_for(contact)
    assert (stored["phone"], stored["town"], stored["category"]) == ("138****6010", "浒山街道", None)
