"""Final notifications lose body, personalisation and recipient after the retention period; the record
(template, status, masked phone) stays."""

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from services.notify.models import Notification
from services.notify.retention import ERASED_BODY
from shared.platform.db import make_engine
from shared.platform.models import utcnow
from tests.services.notify.conftest import approved
from tests.services.notify.test_approval_sms import PHONE, RESIDENT, final
from tests.support.jobs import until_finished
from tests.support.waiting import wait_for


def test_purge_erases_old_final_messages_only(start_notify, token_for, db_url):
    notify = start_notify(gateway=False)
    admin = token_for("ops", "admin")
    notify.contact_event(RESIDENT, PHONE)
    notify.publish("subsidy_approved", approved(RESIDENT))
    notify.publish(
        "subsidy_rejected",
        {
            **{
                k: v
                for k, v in approved(RESIDENT).items()
                if k in ("application_id", "resident_id", "town", "category")
            },
            "reasons": ["rejected_on_review"],
            "rejected_at": utcnow().isoformat(),
        },
    )

    def both_final():
        found = final(notify, admin, phone=PHONE)
        return found if len(found) >= 2 else None

    rows = wait_for(both_final)
    old = rows[0]["id"]
    engine = make_engine(db_url)
    with Session(engine) as session:
        session.execute(
            update(Notification).where(Notification.id == old).values(completed_at=utcnow() - timedelta(days=200))
        )
        session.commit()
    with notify.rpc(admin) as rpc:
        assert rpc.purge_personal_data()["notification_content"]["due"] == 1
        assert until_finished(rpc, rpc.purge_personal_data(dry_run=False))["result"]["notification_content"] == 1
        kept = {n["id"]: n for n in rpc.list_notifications(resident_id=RESIDENT)}
    engine.dispose()
    assert kept[old]["body"] == ERASED_BODY and kept[old]["status"] in ("delivered",)
    assert kept[old]["phone"] == PHONE[:3] + "****" + PHONE[-4:]
    assert [n["body"] for i, n in kept.items() if i != old][0].startswith("【慈溪新市民】")


def test_a_contact_neither_refreshed_nor_used_for_the_period_loses_phone_and_openid(db_url, process_clock):
    from datetime import UTC, datetime

    from services.notify.models import Contact
    from services.notify.retention import RULES, TWO_YEARS
    from tests.support.retention import migrated, purged, rows_by

    process_clock(datetime(2029, 1, 15, 1, 0, tzinfo=UTC))
    now = utcnow()
    period_end = now - timedelta(days=TWO_YEARS)
    last_refreshed = {
        "r_just_in": period_end + timedelta(days=1),  # one day of the period left: stays
        "r_at_end": period_end,  # exactly the period, not more: stays
        "r_just_out": period_end - timedelta(seconds=1),  # the period is over: goes
        "r_used_lately": period_end - timedelta(days=300),  # old, but a notification went to it a day ago
        "r_used_long_ago": period_end - timedelta(days=300),  # its last notification is as old as it: goes
    }
    engine = migrated("notify", db_url)
    with Session(engine) as session:
        for resident, moment in last_refreshed.items():
            session.add(Contact(resident_id=resident, phone_encrypted="x", phone_index=f"i_{resident}",
                                phone_masked="138****5678", wechat_openid=f"o_{resident}", promo_consent=True,
                                town="浒山街道", created_at=moment, updated_at=moment))  # fmt: skip
        for resident, sent in (("r_used_lately", now - timedelta(days=1)), ("r_used_long_ago", period_end)):
            session.add(Notification(
                id=f"n-{resident}", dedupe_key=f"d-{resident}", resident_id=resident, channel="sms",
                kind="transactional", template_id="t", template_version=1, body="【慈溪新市民】", billed_length=8,
                segments=1, status="delivered", created_at=sent - timedelta(seconds=1), completed_at=sent,
            ))  # fmt: skip
        session.commit()

    assert purged(engine, RULES, "dormant_contact", now) == 2
    contacts = rows_by(engine, Contact, "resident_id")
    erased = {resident for resident, row in contacts.items()
              if (row.phone_encrypted, row.phone_index, row.phone_masked, row.wechat_openid) == (None,)*4}  # fmt: skip
    assert erased == {"r_just_out", "r_used_long_ago"}
    assert contacts["r_just_out"].promo_consent and contacts["r_just_out"].town == "浒山街道"  # preferences stay
    assert contacts["r_just_in"].phone_index == "i_r_just_in"
