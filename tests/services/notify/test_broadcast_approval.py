"""No one speaks to many residents alone, or as someone else (issue 22): a broadcast to more residents than
BROADCAST_APPROVAL_ABOVE waits for a second admin, both steps are in the audit trail, and a variable cannot
carry another sender's 【】 signature, a link or a phone number."""

import pytest
from nameko.exceptions import RemoteError
from sqlalchemy import create_engine, func, select

from services.notify.models import Notification
from shared.platform.audit import AuditRecord
from shared.platform.errors import Conflict, ValidationError
from tests.services.notify.conftest import DAYTIME
from tests.services.notify.test_broadcast import TITLE, completed, progress_when

IMPERSONATION = {"title": "【公安局】您涉嫌违法，请速回电13800138000"}


def rows(notify, model, *where) -> list:
    engine = create_engine(notify.config["DATABASE_URL"])
    with engine.connect() as connection:
        found = connection.execute(select(model).where(*where)).all()
    engine.dispose()
    return found


def notifications_of(notify, broadcast_id) -> int:
    engine = create_engine(notify.config["DATABASE_URL"])
    with engine.connect() as connection:
        count = connection.scalar(
            select(func.count()).select_from(Notification).where(Notification.broadcast_id == broadcast_id)
        )
    engine.dispose()
    return count


def test_a_large_broadcast_waits_for_a_second_admin_and_both_are_audited(start_notify, token_for):
    notify = start_notify(at=DAYTIME, BROADCAST_APPROVAL_ABOVE=2)
    maker, checker = token_for("admin-wang", "admin"), token_for("admin-li", "admin")
    notify.add_contacts(3)
    with notify.rpc(maker) as rpc:
        broadcast = rpc.broadcast("policy_notice", {"all": True}, TITLE)
        assert broadcast["status"] == "awaiting_approval" and broadcast["expected"] == 3
        with pytest.raises(RemoteError) as own:
            rpc.approve_broadcast(broadcast["id"])
    assert own.value.exc_type == "MakerCheckerViolation"
    # nothing is recorded, so nothing can be sent, while it waits
    assert progress_when(notify, maker, broadcast["id"], lambda p: p["status"] == "awaiting_approval")
    assert notifications_of(notify, broadcast["id"]) == 0

    with notify.rpc(checker) as rpc:
        approved = rpc.approve_broadcast(broadcast["id"])
        assert approved["approved_by"] == "admin-li" and approved["status"] in ("recording", "sending", "completed")
        with pytest.raises(Conflict):
            rpc.approve_broadcast(broadcast["id"])

    progress = progress_when(notify, maker, broadcast["id"], completed)
    assert progress["by_status"]["delivered"] == 3
    records = rows(notify, AuditRecord, AuditRecord.case_type == "broadcast", AuditRecord.case_id == broadcast["id"])
    trail = [(row.action, row.actor) for row in records]
    # the recording job's move to sending is audited too, in the name of who started it: the approver
    assert trail == [("awaiting_approval", "admin-wang"), ("recording", "admin-li"), ("sending", "admin-li")]


def test_a_rejected_broadcast_is_never_sent(start_notify, token_for):
    notify = start_notify(at=DAYTIME, BROADCAST_APPROVAL_ABOVE=1)
    maker, checker = token_for("admin-wang", "admin"), token_for("admin-li", "admin")
    notify.add_contacts(2)
    with notify.rpc(maker) as rpc:
        broadcast = rpc.broadcast("policy_notice", {"all": True}, TITLE)
    with notify.rpc(checker) as rpc:
        rejected = rpc.reject_broadcast(broadcast["id"], "措辞需与政策原文一致")
        with pytest.raises(Conflict):
            rpc.approve_broadcast(broadcast["id"])
    assert rejected["status"] == "rejected" and rejected["rejected_reason"] == "措辞需与政策原文一致"
    assert notifications_of(notify, broadcast["id"]) == 0
    assert notify.gateway_messages() == []


def test_a_small_broadcast_goes_without_a_second_admin(start_notify, token_for):
    notify = start_notify(at=DAYTIME, BROADCAST_APPROVAL_ABOVE=2)
    admin = token_for("admin-wang", "admin")
    notify.add_contacts(2)
    with notify.rpc(admin) as rpc:
        broadcast = rpc.broadcast("policy_notice", {"all": True}, TITLE)
    assert broadcast["status"] != "awaiting_approval"
    assert progress_when(notify, admin, broadcast["id"], completed)["by_status"]["delivered"] == 2


def test_a_variable_cannot_pose_as_another_sender_or_carry_a_number_or_link(start_notify, token_for):
    notify = start_notify(at=DAYTIME)
    admin = token_for("admin-wang", "admin")
    notify.add_contacts(2)
    with notify.rpc(admin) as rpc:
        with pytest.raises(ValidationError) as impersonation:
            rpc.broadcast("subsidy_approved", {"town": "没有这个镇"}, IMPERSONATION)
        with pytest.raises(ValidationError) as link:
            rpc.broadcast("policy_notice", {"all": True}, {"title": "详见 www.example.com"})
    # every bad field at once, and the refused text is not echoed back
    errors = impersonation.value.errors
    assert set(errors) == {"template_id", "personalisation.title", "segment.town"}
    assert len(errors["personalisation.title"]) == 2  # a bracket, and a phone number
    assert "13800138000" not in str(impersonation.value) and "公安局" not in str(impersonation.value)
    assert list(link.value.errors) == ["personalisation.title"]
    assert rows(notify, AuditRecord, AuditRecord.case_type == "broadcast") == []
    assert notify.gateway_messages() == []
