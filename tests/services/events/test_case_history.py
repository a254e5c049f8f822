"""Every registration status change is in the audit trail with its reason; the history is for staff and
for the registered resident only."""

import pytest

from shared.platform.errors import Forbidden, NotFound
from tests.services.events.conftest import ADULTS, rid


def test_history_follows_a_registration_and_is_readable_by_its_resident(staff, make_activity, rpc):
    activity = make_activity(capacity=1)
    first = staff.register({"activity_id": activity["id"], "id_number": ADULTS[0], "children": []})
    second = staff.register({"activity_id": activity["id"], "id_number": ADULTS[1], "children": []})
    staff.cancel_registration(first["id"])  # frees the seat: the waitlisted registration is offered it
    history = staff.get_case_history("registration", first["id"])
    assert [(h["from_state"], h["to_state"], h["actor"]) for h in history] == [
        (None, "confirmed", "cw-1"),
        ("confirmed", "cancelled", "cw-1"),
    ]
    assert history[1]["reason"] == "by_staff"
    moved = staff.get_case_history("registration", second["id"])
    assert [h["to_state"] for h in moved][:2] == ["waitlisted", "offered"]
    own = rpc(rid(ADULTS[0]), "resident")
    assert [h["to_state"] for h in own.get_case_history("registration", first["id"])] == ["confirmed", "cancelled"]
    with pytest.raises(NotFound):
        rpc(rid(ADULTS[1]), "resident").get_case_history("registration", first["id"])
    with pytest.raises(Forbidden):
        rpc("svc", "service").get_case_history("registration", first["id"])
