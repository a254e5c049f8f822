"""Template management for admin, and preferences — log provider. (Every event's SMS:
test_insurance_events_notices.py.)"""

from datetime import UTC, datetime

import pytest

from shared.platform.errors import Forbidden, ValidationError
from tests.support.broker import drain_dead_letters
from tests.support.waiting import wait_for

RESIDENT = "r_" + "c" * 32
CASE = {"application_id": "app-9", "resident_id": RESIDENT, "town": "周巷镇", "category": "talent"}
AT = datetime(2026, 4, 1, 1, 0, tzinfo=UTC).isoformat()


def one_delivered(notify, token, template_id):
    def check():
        with notify.rpc(token) as rpc:
            rows = rpc.list_notifications(resident_id=RESIDENT)
        rows = [r for r in rows if r["template_id"] == template_id]
        return rows if rows and rows[0]["status"] == "delivered" else None

    rows = wait_for(check)
    assert len(rows) == 1
    return rows[0]["body"]


def test_template_management(start_notify, token_for):
    notify = start_notify(gateway=False)
    admin, caseworker = token_for("admin-1", "admin"), token_for("cw", "caseworker")
    with notify.rpc(caseworker) as rpc:
        with pytest.raises(Forbidden):
            rpc.create_template("seat_confirmed", "名额确认", "transactional", "您报名的{activity}已确认。")
        templates = {t["template_id"]: t for t in rpc.list_templates()}
    assert templates["subsidy_approved"]["placeholders"] == ["amount"]

    with notify.rpc(admin) as rpc:
        created = rpc.create_template("seat_confirmed", "名额确认", "transactional", "您报名的{activity}已确认。")
        assert created["version"] == 1 and created["created_by"] == "admin-1"
        with pytest.raises(Exception) as exists:
            rpc.create_template("seat_confirmed", "名额确认", "transactional", "您报名的{activity}已确认。")
        assert getattr(exists.value, "exc_type", type(exists.value).__name__) == "TemplateExists"
        with pytest.raises(ValidationError) as invalid:
            rpc.create_template("summer_class", "暑期班", "promotional", "小候鸟暑期班开始报名：{title}")
        assert "body" in invalid.value.errors

        updated = rpc.update_template("subsidy_approved", body="您的租赁补贴申请已获批准，每月{amount}元。")
        assert updated["version"] == 2
        assert rpc.get_template("subsidy_approved", 1)["version"] == 1
        preview = rpc.preview_template("subsidy_approved", {"amount": "840"})
        assert preview == {
            "body": "【慈溪新市民】您的租赁补贴申请已获批准，每月840元。",
            "billed_length": 27,
            "segments": 1,
        }
        with pytest.raises(ValidationError) as missing:
            rpc.preview_template("subsidy_approved", {})
        assert missing.value.errors == {"personalisation.amount": ["Missing personalisation: amount"]}

    # the next notification uses version 2 and says so
    notify.contact_event(RESIDENT, "13812345678")
    notify.publish("subsidy_approved", {**CASE, "household_size": 2, "monthly_subsidy_fen": 84000,
                                        "approved_at": AT, "policy_ref": "p"})  # fmt: skip
    body = one_delivered(notify, caseworker, "subsidy_approved")
    assert body == "【慈溪新市民】您的租赁补贴申请已获批准，每月840元。"
    with notify.rpc(caseworker) as rpc:
        assert rpc.list_notifications(resident_id=RESIDENT)[0]["template_version"] == 2


def test_preferences_by_the_resident_themself(start_notify, token_for):
    notify = start_notify(gateway=False)
    with notify.rpc(token_for("cw", "caseworker")) as rpc:
        contact = rpc.upsert_contact(RESIDENT, phone="+86 138-1234-5678", town="天元", category="talent")
    assert contact["phone"] == "138****5678" and contact["town"] == "周巷镇" and contact["promo_consent"] is False
    with notify.rpc(token_for(RESIDENT, "resident")) as rpc:
        updated = rpc.set_preferences(RESIDENT, promo_consent=True)
    assert updated["promo_consent"] is True
    with notify.rpc(token_for("r_someone_else_000", "resident")) as rpc, pytest.raises(Forbidden):
        rpc.set_preferences(RESIDENT, promo_consent=False)


def test_a_token_without_roles_cannot_consent_to_promotions_even_for_itself(start_notify, token_for):
    notify = start_notify(gateway=False)
    with notify.rpc(token_for("cw", "caseworker")) as rpc:
        rpc.upsert_contact(RESIDENT, phone="13812345678", town="浒山街道", category="talent")
    with notify.rpc(token_for(RESIDENT)) as rpc, pytest.raises(Forbidden, match="requires one of the roles"):
        rpc.set_preferences(RESIDENT, promo_consent=True)
    with notify.rpc(token_for("cw", "caseworker")) as rpc:
        assert rpc.get_contact(RESIDENT)["promo_consent"] is False


def test_a_phone_encrypted_for_another_resident_is_dead_lettered_and_changes_no_contact(start_notify, token_for):
    """A publisher that copies one resident's encrypted phone onto another's event (a bug, or a compromised
    housing) cannot redirect the second resident's messages: the ciphertext opens only for its own resident."""
    notify = start_notify(gateway=False)
    victim, attacker = RESIDENT, "r_" + "d" * 32
    with notify.rpc(token_for("cw", "caseworker")) as rpc:
        rpc.upsert_contact(victim, phone="13812345678", town="周巷镇", category="talent")
    copied = notify.pii.encrypt("13987654321", bound_to=attacker)  # as on the attacker's own event
    notify.publish(
        "contact_provided",
        {"resident_id": victim, "phone_encrypted": copied, "town": "浒山街道", "category": "talent"},
    )

    letters = wait_for(lambda: drain_dead_letters(notify.config["AMQP_URI"], "notify"), what="the dead letter")
    [reason] = [headers["x-dead-letter-reason"] for headers, _body in letters]
    assert reason.startswith("permanent: PermanentError: phone_encrypted does not decrypt for this resident")
    assert "13987654321" not in reason and "13812345678" not in reason
    with notify.rpc(token_for("cw", "caseworker")) as rpc:
        contact = rpc.get_contact(victim)
    assert (contact["phone"], contact["town"]) == ("138****5678", "周巷镇")
