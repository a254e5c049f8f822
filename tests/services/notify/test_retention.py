"""Final notifications lose body, personalisation and recipient after the retention period; the record
(template, status, masked phone) stays."""

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from services.notify.models import Notification
from services.notify.retention import ERASED_BODY
from shared.db import make_engine
from shared.models import utcnow
from tests.services.notify.conftest import approved
from tests.services.notify.test_approval_sms import PHONE, RESIDENT, final
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
        assert rpc.purge_personal_data(dry_run=False)["notification_content"]["erased"] == 1
        kept = {n["id"]: n for n in rpc.list_notifications(resident_id=RESIDENT)}
    engine.dispose()
    assert kept[old]["body"] == ERASED_BODY and kept[old]["status"] in ("delivered",)
    assert kept[old]["phone"] == PHONE[:3] + "****" + PHONE[-4:]
    assert [n["body"] for i, n in kept.items() if i != old][0].startswith("【慈溪新市民】")
