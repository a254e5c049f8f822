"""Every event notify consumes, one line per event kind: which notice it becomes (housing, insurance,
events, appeals; `NOTICES`), or the contact details it carries (`contact_provided`).

`HANDLERS` is the table `shared.platform.batch_consumer.subscribe` turns into batching entrypoints named by
`handler_name` (see NotifyService), so adding a notice is a line in `NOTICES`, a template in a migration
and "notify" in the contract's consumers."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from services.notify import activity_messages as activity
from services.notify import appeal_messages as appeal
from services.notify import housing_messages as housing
from services.notify import insurance_messages as insurance
from shared.platform.event_consumer import handler_name as generated_name

DEDUPE_KEY_CHARS = 120  # notifications.dedupe_key


def registrant(data: dict) -> list[str]:
    return [data["resident_id"]]


def policyholder(data: dict) -> list[str]:
    """The insured person, or for a child's enrolment the guardian who applied for it."""
    return [data.get("guardian_resident_id") or data["resident_id"]]


def every_holder(data: dict) -> list[str]:
    return list(dict.fromkeys(data["resident_ids"]))


def always(data: dict) -> bool:
    return True


@dataclass(frozen=True)
class Notice:
    template: str
    personalise: Callable[[dict], dict]
    recipients: Callable[[dict], list[str]] = registrant
    wanted: Callable[[dict], bool] = always


HOUSING_NOTICES = ("subsidy_approved", "subsidy_rejected", "subsidy_disbursed", "subsidy_ended", "tenancy_started",
                   "tenancy_ended")  # fmt: skip

NOTICES: dict[tuple[str, str], Notice] = {
    **{("housing", event_type): Notice(event_type, getattr(housing, event_type)) for event_type in HOUSING_NOTICES},
    ("housing", "subsidy_recertified"): Notice("subsidy_recertified", housing.subsidy_recertified),
    ("insurance", "enrolment_activated"): Notice("enrolment_activated", insurance.enrolment_activated, policyholder),
    ("insurance", "enrolment_rejected"): Notice("enrolment_rejected", insurance.enrolment_rejected, policyholder),
    ("insurance", "enrolment_suspended"): Notice("enrolment_suspended", insurance.enrolment_suspended, policyholder),
    ("insurance", "enrolment_ended"): Notice("enrolment_ended", insurance.enrolment_ended, policyholder),
    ("insurance", "enrolment_lapsed"): Notice("enrolment_lapsed", insurance.enrolment_lapsed, policyholder),
    ("insurance", "renewal_due"): Notice("renewal_due", insurance.renewal_due, policyholder),
    ("insurance", "employment_registered"): Notice(
        "employment_registered_late", insurance.employment_registered_late, wanted=insurance.is_late
    ),
    ("events", "registration_confirmed"): Notice("registration_confirmed", activity.with_venue),
    ("events", "registration_pending"): Notice("registration_pending", activity.activity),
    ("events", "registration_rejected"): Notice("registration_rejected", activity.registration_rejected),
    ("events", "waitlisted"): Notice("waitlisted", activity.waitlisted),
    ("events", "seat_offered"): Notice("seat_offered", activity.seat_offered),
    ("events", "offer_expired"): Notice("offer_expired", activity.activity),
    ("events", "registration_cancelled"): Notice("registration_cancelled", activity.registration_cancelled),
    ("events", "reminder_due"): Notice("reminder_due", activity.with_venue),
    ("events", "activity_rescheduled"): Notice("activity_rescheduled", activity.with_venue, every_holder),
    **{
        (source, f"appeal_{step}"): Notice(f"appeal_{step}", personalise, policyholder)
        for source in ("housing", "insurance")
        for step, personalise in (
            ("received", appeal.appeal_received),
            ("upheld", appeal.appeal_decided),
            ("dismissed", appeal.appeal_decided),
        )
    },
}


def send_notice(service, event: dict) -> None:
    """Record the notice `subscriptions.NOTICES` names for this event."""
    service.desk.send_notice(event, NOTICES[(event["source"], event["event_type"])])


def send_notices(service, events: list[dict]) -> None:
    """`send_notice` for a batch (shared/platform/batch_consumer.py): recorded together, in its one transaction."""
    service.desk.send_notices([(event, NOTICES[(event["source"], event["event_type"])]) for event in events])


def store_contact(service, event: dict) -> None:
    """Store the contact details a resident gave housing or events."""
    service.desk.store_contact(event["data"])


HANDLERS = {
    **dict.fromkeys(NOTICES, send_notice),
    ("housing", "contact_provided"): store_contact,
    ("events", "contact_provided"): store_contact,
}
BATCH_FORMS = {send_notice: send_notices}
FIRST_HANDLERS = {("housing", event_type) for event_type in (*HOUSING_NOTICES, "contact_provided")}


def handler_name(source: str, event_type: str) -> str:
    if (source, event_type) in FIRST_HANDLERS:
        return f"on_{event_type}"  # the first handlers' names, which the consumer metrics and alerts carry
    return generated_name(source, event_type)


def dedupe_key(event: dict, template_id: str, resident_id: str) -> str:
    """One notification per (event, template), and per recipient when the recipient is not the event's own
    resident (a guardian; each of an activity's registrants)."""
    key = f"event:{event['event_id']}:{template_id}"
    if resident_id == event["data"].get("resident_id"):
        return key
    key = f"{key}:{resident_id}"
    if len(key) <= DEDUPE_KEY_CHARS:
        return key
    return f"event:{event['event_id']}:{template_id}:{hashlib.sha256(resident_id.encode()).hexdigest()[:32]}"
