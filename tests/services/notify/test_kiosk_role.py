"""The kiosk's `service` role checks people in at an activity's door and nothing more: over real RPC it can
neither overwrite a resident's phone nor read or change their contact (log provider, SQLite and PostgreSQL)."""

import pytest

from shared.platform.errors import Forbidden

RESIDENT = "r_" + "d" * 32
PHONE = "13812345678"


def test_the_kiosk_cannot_overwrite_or_read_a_contact(start_notify, token_for):
    notify = start_notify(gateway=False)
    with notify.rpc(token_for("cw-1", "caseworker")) as rpc:
        rpc.upsert_contact(RESIDENT, phone=PHONE, town="浒山")
    for roles in (("service",), ("service", "resident")):
        with notify.rpc(token_for("kiosk-1", *roles)) as kiosk:
            with pytest.raises(Forbidden):
                kiosk.upsert_contact(RESIDENT, phone="13900009999")
            with pytest.raises(Forbidden):
                kiosk.set_preferences(RESIDENT, promo_consent=True)
            with pytest.raises(Forbidden):
                kiosk.get_contact(RESIDENT)
    with notify.rpc(token_for("cw-1", "caseworker")) as rpc:
        contact = rpc.get_contact(RESIDENT)
    assert (contact["phone"], contact["promo_consent"]) == ("138****5678", False)
