"""Recording notifications: one row per (source event, template), rendered from the template's current
version, addressed from the resident's contact — or held until a contact arrives."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from services.notify import catalogue, metrics, rules, statuses
from services.notify.exceptions import TemplateNotFound
from services.notify.models import Contact, Notification, OptOut, Template
from services.notify.templating import render
from shared.platform.ids import new_id
from shared.platform.personal_data_provider import PiiTools
from shared.platform.validation import echo


def current_template(session, template_id: str) -> Template:
    template = catalogue.latest(session, template_id)
    if not template.active:
        raise TemplateNotFound(f"template {echo(template_id)} is not active")
    return template


def channel_for(contact: Contact | None) -> str:
    if contact is not None and contact.preferred_channel == statuses.WECHAT and contact.wechat_openid:
        return statuses.WECHAT
    return statuses.SMS


def address(notification: Notification, contact: Contact | None, pii: PiiTools) -> bool:
    """Fill the recipient from the contact; False if the contact cannot receive on this channel."""
    if contact is None:
        return False
    if notification.channel == statuses.WECHAT:
        if not contact.wechat_openid:
            return False
        notification.recipient_encrypted = pii.encrypt(contact.wechat_openid)
    else:
        if not contact.phone_encrypted:
            return False
        notification.recipient_encrypted = contact.phone_encrypted
    notification.phone_index = contact.phone_index
    notification.phone_masked = contact.phone_masked
    notification.hold_reason = None
    return True


def record(
    session,
    pii: PiiTools,
    *,
    dedupe_key: str,
    resident_id: str,
    template: Template,
    personalisation: dict,
    signature: str,
    now: datetime,
    quiet: tuple,
    source_event_id: str | None = None,
    fallback_of: str | None = None,
    channel: str | None = None,
    new: bool = False,
) -> Notification | None:
    """Render and add a notification; None if one with this dedupe key exists already (`new`: the caller
    has just looked, `recorded_keys`)."""
    if not new and session.scalar(select(Notification.id).where(Notification.dedupe_key == dedupe_key)) is not None:
        return None
    rendered = render(template.body, personalisation, signature)
    contact = session.get(Contact, resident_id)
    notification = Notification(
        id=new_id(),
        dedupe_key=dedupe_key,
        source_event_id=source_event_id,
        fallback_of=fallback_of,
        resident_id=resident_id,
        channel=channel or channel_for(contact),
        kind=template.kind,
        template_id=template.template_id,
        template_version=template.version,
        personalisation=dict(personalisation),
        body=rendered.body,
        billed_length=rendered.billed_length,
        segments=rendered.segments,
        status=statuses.CREATED,
        attempts=0,
        created_at=now,
        updated_at=now,
        next_attempt_at=rules.not_before(template.kind, now, *quiet) or now,
    )
    if not address(notification, contact, pii):
        notification.hold_reason = statuses.AWAITING_CONTACT
    elif notification.next_attempt_at > now:
        notification.hold_reason = statuses.QUIET_HOURS
    session.add(notification)
    metrics.reached(notification.channel, None, statuses.CREATED)
    return notification


def recorded_keys(session, dedupe_keys: list[str]) -> set[str]:
    """Which of these dedupe keys have a notification already: one query for a batch."""
    found: set[str] = set()
    for start in range(0, len(dedupe_keys), 500):
        chunk = dedupe_keys[start : start + 500]
        found.update(session.scalars(select(Notification.dedupe_key).where(Notification.dedupe_key.in_(chunk))))
    return found


def release_awaiting(session, contact: Contact, pii: PiiTools, now: datetime) -> int:
    """Address every notification that was waiting for this resident's contact; they go on the next cycle."""
    waiting = session.scalars(
        select(Notification).where(
            Notification.resident_id == contact.resident_id,
            Notification.status == statuses.CREATED,
            Notification.recipient_encrypted.is_(None),
        )
    ).all()
    released = 0
    for notification in waiting:
        if address(notification, contact, pii):
            notification.updated_at = now
            released += 1
    return released


def readdress_unsent(session, contact: Contact, now: datetime) -> None:
    """A changed number applies to SMS not yet handed to a provider."""
    session.execute(
        update(Notification)
        .where(
            Notification.resident_id == contact.resident_id,
            Notification.channel == statuses.SMS,
            Notification.status == statuses.CREATED,
            Notification.lease_owner.is_(None),
            Notification.recipient_encrypted.is_not(None),
        )
        .values(
            recipient_encrypted=contact.phone_encrypted,
            phone_index=contact.phone_index,
            phone_masked=contact.phone_masked,
            updated_at=now,
        )
    )


def is_opted_out(session, phone_index: str | None) -> bool:
    return phone_index is not None and session.get(OptOut, phone_index) is not None


def release_all_awaiting(session, pii: PiiTools, now: datetime, limit: int = 1000) -> int:
    """Catch what a race left behind: a notification recorded while its contact was being stored."""
    waiting = session.scalars(
        select(Notification)
        .join(Contact, Contact.resident_id == Notification.resident_id)
        .where(Notification.status == statuses.CREATED, Notification.recipient_encrypted.is_(None))
        .limit(limit)
    ).all()
    contacts = {}
    released = 0
    for notification in waiting:
        contact = contacts.get(notification.resident_id) or session.get(Contact, notification.resident_id)
        contacts[notification.resident_id] = contact
        if address(notification, contact, pii):
            notification.updated_at = now
            released += 1
    return released
