"""The other housing events as SMS, template management for admin, and preferences — log provider."""

from datetime import UTC, date, datetime

import pytest

from shared.errors import Forbidden, ValidationError
from tests.services.notify.conftest import wait_for

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


@pytest.mark.parametrize(
    ("event_type", "data", "text"),
    [
        (
            "subsidy_rejected",
            {**CASE, "reasons": ["owns_home_in_cixi", "no_residence_permit"], "rejected_at": AT},
            "【慈溪新市民】您的公共租赁住房租赁补贴申请未获批准，原因：本人、配偶或未成年子女在慈溪有自有住房；"
            "未持有有效浙江省居住证。如有疑问请咨询慈溪市新市民服务中心。",
        ),
        (
            "subsidy_disbursed",
            {**CASE, "disbursement_id": "d-1", "period": "2026-03", "amount_fen": 84050, "disbursed_at": AT},
            "【慈溪新市民】您2026年3月的租赁补贴840.5元已发放，请注意查收。",
        ),
        (
            "subsidy_ended",
            {**CASE, "reason": "bought_home", "ended_at": AT},
            "【慈溪新市民】您的公共租赁住房租赁补贴已于2026年4月1日终止，原因：已在本市购买住房。"
            "如有疑问请咨询慈溪市新市民服务中心。",
        ),
        (
            "tenancy_started",
            {
                "tenancy_id": "t-1",
                "project_id": "p-1",
                "unit_id": "u-1",
                "resident_id": RESIDENT,
                "town": "周巷镇",
                "monthly_rent_fen": 120000,
                "start_date": date(2026, 4, 1).isoformat(),
                "end_date": date(2029, 3, 31).isoformat(),
            },
            "【慈溪新市民】您承租的保障性租赁住房租约已生效，租期2026年4月1日至2029年3月31日，月租金1200元。",
        ),  # fmt: skip
        (
            "tenancy_ended",
            {"tenancy_id": "t-1", "resident_id": RESIDENT, "town": "周巷镇", "reason": "expired", "ended_at": AT},
            "【慈溪新市民】您承租的保障性租赁住房租约已于2026年4月1日结束，原因：保障期限届满。",
        ),
    ],
)
def test_housing_events_become_one_sms_each(start_notify, token_for, event_type, data, text):
    notify = start_notify(gateway=False)
    token = token_for("cw", "caseworker")
    notify.contact_event(RESIDENT, "13812345678")
    envelope = notify.publish(event_type, data)
    notify.publish(event_type, data, event_id=envelope["event_id"])
    assert one_delivered(notify, token, event_type) == text


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
