"""A contact's number, stored from events (services/notify/contacts.py): a changed number readdresses the SMS
not yet handed to a provider; a resident's first contact finds no addressed SMS to readdress."""

from datetime import UTC, datetime, time

import pytest
from sqlalchemy import select

from services.notify import contacts, notices
from services.notify.models import Notification
from shared.platform.personal_data_provider import PiiTools, keys_from_config
from tests.support.databases import migrated_session

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # 10:00 in Cixi, outside quiet hours
RESIDENT = "resident-0001"


@pytest.fixture
def session(db_url):
    with migrated_session("notify", db_url) as session:
        yield session


@pytest.fixture
def pii():
    return PiiTools(keys_from_config({"PII_HMAC_KEY": "test-hmac-key", "PII_ENCRYPTION_KEY": "test-encryption-key"}))


def notice(session, pii) -> Notification:
    return notices.record(
        session, pii, dedupe_key="event:1:subsidy_approved", resident_id=RESIDENT,
        template=notices.current_template(session, "subsidy_approved"), personalisation={"amount": "840"},
        signature="【慈溪新市民】", now=NOW, quiet=(time(21), time(8)), source_event_id="1",
    )  # fmt: skip


def recipients(session, pii) -> list[str]:
    return [pii.decrypt(n.recipient_encrypted) for n in session.scalars(select(Notification))]


def test_a_changed_number_readdresses_the_unsent_sms(session, pii):
    contacts.store(session, pii, RESIDENT, NOW, phone="13800135678", town="浒山街道")
    notice(session, pii)
    session.commit()
    assert recipients(session, pii) == ["13800135678"]

    contacts.store(session, pii, RESIDENT, NOW, phone="13900139999")
    session.commit()
    assert recipients(session, pii) == ["13900139999"]


def test_a_first_contact_addresses_the_sms_that_waited_for_it(session, pii):
    waiting = notice(session, pii)
    session.commit()
    assert waiting.recipient_encrypted is None

    contacts.store(session, pii, RESIDENT, NOW, phone="13800135678", town="浒山街道")
    session.commit()
    assert recipients(session, pii) == ["13800135678"]
