"""Contacts keyed by resident_id: the number encrypted, a blind index to find it, a masked copy to show."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from services.notify import notices, rules, statuses
from services.notify.models import Contact, OptOut
from services.notify.schemas import iso
from shared.cixi.towns import resolve_town
from shared.platform.errors import NotFound, ValidationError
from shared.platform.personal_data import InvalidPhone, mask_phone, normalise_phone
from shared.platform.personal_data_provider import PiiTools
from shared.platform.validation import echo

PHONE_INDEX_PURPOSE = "phone"


def phone_index(pii: PiiTools, phone: str) -> str:
    return pii.index(normalise_phone(phone), PHONE_INDEX_PURPOSE)


def clean_phone(raw: str, field: str = "phone") -> str:
    try:
        return normalise_phone(str(raw))
    except InvalidPhone:
        raise ValidationError({field: ["not a mainland mobile number (11 digits starting 13–19)"]}) from None


def town_name(value: str | None) -> str | None:
    if not value:
        return None
    town = resolve_town(value)
    return town.name if town else value


def store(
    session,
    pii: PiiTools,
    resident_id: str,
    now: datetime,
    phone: str | None = None,
    **fields,
) -> Contact:
    """Create or update a contact; waiting notifications get its address, unsent ones a new number."""
    contact = session.get(Contact, resident_id)
    created = contact is None
    if created:
        contact = Contact(resident_id=resident_id, created_at=now, preferred_channel=statuses.SMS, promo_consent=False)
        session.add(contact)
    changed_number = False
    if phone is not None:
        phone = clean_phone(phone)
        index = pii.index(phone, PHONE_INDEX_PURPOSE)
        if index != contact.phone_index:
            contact.phone_encrypted = pii.encrypt(phone)
            contact.phone_index = index
            contact.phone_masked = mask_phone(phone)
            changed_number = True
    for name, value in fields.items():
        if value is None:
            continue
        setattr(contact, name, town_name(value) if name == "town" else value)
    contact.updated_at = now
    session.flush()
    if changed_number and not created:
        # a recipient is only ever copied from the resident's contact row, and contacts are never deleted:
        # before its first row no notification of the resident has a number to replace
        notices.readdress_unsent(session, contact, now)
    notices.release_awaiting(session, contact, pii, now)
    return contact


def get(session, resident_id: str) -> Contact:
    if not isinstance(resident_id, str) or not 0 < len(resident_id) <= 64:
        raise ValidationError({"resident_id": ["Must be a resident id (text of at most 64 characters)."]})
    contact = session.get(Contact, resident_id)
    if contact is None:
        raise NotFound(f"no contact for resident {echo(resident_id)}")
    return contact


def opt_out(session, pii: PiiTools, phone: str, text: str, now: datetime) -> bool:
    """An inbound reply. True if it was an opt-out (T / TD / 退订)."""
    if not rules.is_opt_out(text):
        return False
    index = pii.index(clean_phone(phone), PHONE_INDEX_PURPOSE)
    if session.get(OptOut, index) is None:
        session.add(OptOut(phone_index=index, keyword=text.strip()[:10], opted_out_at=now))
    return True


def opted_out_indexes(session, indexes: set[str]) -> set[str]:
    if not indexes:
        return set()
    return set(session.scalars(select(OptOut.phone_index).where(OptOut.phone_index.in_(indexes))))


def as_dict(contact: Contact, opted_out: bool) -> dict:
    return {
        "resident_id": contact.resident_id,
        "phone": contact.phone_masked,
        "wechat": bool(contact.wechat_openid),
        "preferred_channel": contact.preferred_channel,
        "promo_consent": contact.promo_consent,
        "opted_out": opted_out,
        "town": contact.town,
        "category": contact.category,
        "updated_at": iso(contact.updated_at),
    }
