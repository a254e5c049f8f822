"""Check-in and check-out per day of a multi-day summer class, no-shows and participations (人次)."""

from datetime import UTC, datetime

import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import entrypoint_hook

from shared.platform.errors import Forbidden, ValidationError
from tests.services.events.conftest import ADULTS, CHILDREN, rid

# a five-day class, 08:30-16:30 local, 7-11 July 2025
CLASS = {"starts_at": "2025-07-07T08:30:00+08:00", "ends_at": "2025-07-11T16:30:00+08:00", "capacity": 10}


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 7, day, hour - 8, minute, tzinfo=UTC)


def test_a_summer_class_counts_one_participation_per_child_per_day(events, staff, make_activity, outbox, clock):
    activity = make_activity(**CLASS, min_age=6, max_age=12)
    family = staff.register(
        {"activity_id": activity["id"], "id_number": ADULTS[0], "children": CHILDREN[:2], "registrant_attends": False}
    )
    absent = staff.register(
        {"activity_id": activity["id"], "id_number": ADULTS[1], "children": CHILDREN[2:4], "registrant_attends": False}
    )
    door = staff  # the caseworker at the door scans ID numbers or uses the participant id
    seat_of = {p["resident_id"]: p["participant_id"] for p in family["participants"]}
    first_child, second_child = seat_of[rid(CHILDREN[0])], seat_of[rid(CHILDREN[1])]

    clock.set(local(7, 8, 0))
    door.check_in(activity["id"], {"id_number": CHILDREN[0]})
    door.check_in(activity["id"], {"participant_id": second_child})
    with pytest.raises(RemoteError) as twice:
        door.check_in(activity["id"], {"id_number": CHILDREN[0]})
    assert twice.value.exc_type == "AttendanceConflict"
    clock.set(local(7, 16, 0))
    out = door.check_out(activity["id"], {"id_number": CHILDREN[0]})
    assert out["day"] == "2025-07-07" and out["checked_out_at"] == "2025-07-07T08:00:00+00:00"
    with pytest.raises(RemoteError) as out_twice:
        door.check_out(activity["id"], {"id_number": CHILDREN[0]})
    assert out_twice.value.exc_type == "AttendanceConflict"

    for day in (8, 9):  # the first child comes back two more days
        clock.set(local(day, 8, 20))
        door.check_in(activity["id"], {"participant_id": first_child})

    summary = staff.get_activity(activity["id"])["attendance"]
    assert summary == {
        "days": [
            {"day": "2025-07-07", "checked_in": 2, "still_in": 1},
            {"day": "2025-07-08", "checked_in": 1, "still_in": 1},
            {"day": "2025-07-09", "checked_in": 1, "still_in": 1},
        ],
        "participations": 4,
    }
    recorded = outbox("attendance_recorded")
    assert sum(e["participations"] for e in recorded) == 4
    assert [e["action"] for e in recorded] == ["check_in", "check_in", "check_out", "check_in", "check_in"]
    assert {e["guardian_resident_id"] for e in recorded} == {rid(ADULTS[0])}
    assert recorded[0]["resident_id"] == rid(CHILDREN[0]) and recorded[0]["is_child"] is True

    clock.set(local(11, 17, 0))
    with entrypoint_hook(events, "close_ended_activities") as close:
        assert close() == 1
        assert close() == 0
    completed = outbox("activity_completed")
    assert completed == [
        {
            **{k: completed[0][k] for k in ("activity_id", "title", "kind", "town", "venue_name")},
            "starts_at": "2025-07-07T00:30:00+00:00",
            "ends_at": "2025-07-11T08:30:00+00:00",
            "registered": 4,
            "attended": 2,
            "no_shows": 2,  # the second family's two children never came
            "participations": 4,
        }
    ]
    no_shows = [p["no_show"] for p in staff.get_registration(absent["id"])["participants"]]
    assert no_shows == [True, True]
    assert staff.get_activity(activity["id"])["status"] == "completed"


def test_only_confirmed_participants_check_in_and_only_while_the_activity_runs(staff, make_activity, clock):
    activity = make_activity(capacity=1)
    staff.register({"activity_id": activity["id"], "id_number": ADULTS[0]})
    staff.register({"activity_id": activity["id"], "id_number": ADULTS[1]})  # waitlisted
    clock.set(local(3, 8, 30))  # 90 minutes before a 10:00 start: check-in opens at 09:00
    with pytest.raises(RemoteError) as early:
        staff.check_in(activity["id"], {"id_number": ADULTS[0]})
    assert early.value.exc_type == "AttendanceConflict"
    clock.set(local(3, 9, 5))
    assert staff.check_in(activity["id"], {"id_number": ADULTS[0]})["day"] == "2025-07-03"
    with pytest.raises(RemoteError) as queued:
        staff.check_in(activity["id"], {"id_number": ADULTS[1]})
    assert queued.value.exc_type == "ParticipantNotFound"
    with pytest.raises(ValidationError) as both:
        staff.check_in(
            activity["id"], {"id_number": ADULTS[0], "participant_id": "00000000-0000-4000-8000-000000000000"}
        )
    assert set(both.value.errors) == {"id_number"}


def test_a_resident_cannot_check_people_in(staff, rpc, make_activity):
    activity = make_activity()
    me = rpc(rid(ADULTS[0]), "resident")
    with pytest.raises(Forbidden):
        me.check_in(activity["id"], {"id_number": ADULTS[0]})
