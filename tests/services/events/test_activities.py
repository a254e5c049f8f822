"""The programme: listing by town, kind and local date range, and what an activity shows."""

import pytest
from nameko.exceptions import RemoteError


def test_list_activities_filters_by_town_kind_and_local_dates(staff, make_activity, venue):
    branch = staff.create_venue({"name": "龙山镇图书馆分馆", "kind": "town_branch", "town": "三北"})
    assert branch["town"] == "龙山镇"  # an old name maps to its division
    story = make_activity(kind="story_hour", starts_at="2025-07-05T00:30:00+08:00", ends_at="2025-07-05T01:30:00+08:00")
    talk = make_activity(
        kind="drowning_prevention",
        venue_id=branch["id"],
        starts_at="2025-07-05T23:30:00+08:00",
        ends_at="2025-07-06T00:30:00+08:00",
    )
    ids = lambda rows: [row["id"] for row in rows]  # noqa: E731
    assert ids(staff.list_activities()) == [story["id"], talk["id"]]
    assert ids(staff.list_activities(town="龙山")) == [talk["id"]]
    assert ids(staff.list_activities(kind="story_hour")) == [story["id"]]
    # 00:30 on 5 July local is 16:30 on 4 July UTC: the local day decides
    assert ids(staff.list_activities(date_from="2025-07-05", date_to="2025-07-05")) == [story["id"], talk["id"]]
    assert ids(staff.list_activities(date_from="2025-07-06")) == []
    assert ids(staff.list_activities(town="浒山街道", date_to="2025-07-04")) == []
    shown = staff.get_activity(talk["id"])
    assert shown["venue_name"] == "龙山镇图书馆分馆" and shown["seats_free"] == 3 and shown["waitlisted"] == 0
    assert shown["attendance"] == {"days": [], "participations": 0}


def test_unknown_and_malformed_activity_ids_are_not_found(staff):
    for value in ("00000000-0000-4000-8000-000000000000", "nope", None):
        with pytest.raises(RemoteError) as caught:
            staff.get_activity(value)
        assert caught.value.exc_type == "ActivityNotFound"
