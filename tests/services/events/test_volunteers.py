"""Venues, volunteer teams and their service hours."""

import pytest
from nameko.exceptions import RemoteError

from tests.services.events.conftest import ADULTS, rid


def test_a_team_records_service_hours_and_people_served(staff, make_activity, outbox):
    team = staff.create_volunteer_team({"name": "坎西村范哥志愿服务队", "town": "坎墩"})
    assert team["town"] == "坎墩街道" and team["hours"] == 0
    activity = make_activity(kind="volunteer_service", organiser_team_id=team["id"])
    assert activity["organiser_team_id"] == team["id"]
    staff.record_service_hours(
        {
            "team_id": team["id"],
            "service_date": "2025-06-28",
            "people_served": 120,
            "volunteers": [{"id_number": ADULTS[0], "hours": 3.5}, {"id_number": ADULTS[1], "hours": 2}],
            "activity_id": activity["id"],
        }
    )
    totals = staff.record_service_hours(
        {
            "team_id": team["id"],
            "service_date": "2025-06-29",
            "people_served": 80,
            "volunteers": [{"id_number": ADULTS[0], "hours": 4}],
        }
    )
    assert {k: totals[k] for k in ("records", "volunteers", "hours", "people_served")} == {
        "records": 2,
        "volunteers": 2,
        "hours": 9.5,
        "people_served": 200,
    }
    [listed] = staff.list_volunteer_teams(town="坎墩街道")
    assert listed["people_served"] == 200
    events = outbox("service_hours_recorded")
    assert [(e["volunteers"], e["minutes"], e["people_served"]) for e in events] == [(2, 330, 120), (1, 240, 80)]
    assert rid(ADULTS[0]) not in str(events) and ADULTS[0] not in str(events)  # counts only, no people


def test_names_are_unique_and_teams_must_exist(staff, venue):
    with pytest.raises(RemoteError) as venue_twice:
        staff.create_venue({"name": venue["name"], "kind": "children_library", "town": "浒山街道"})
    assert venue_twice.value.exc_type == "DuplicateName"
    with pytest.raises(RemoteError) as missing:
        staff.record_service_hours(
            {
                "team_id": "00000000-0000-4000-8000-000000000000",
                "service_date": "2025-06-28",
                "people_served": 1,
                "volunteers": [{"id_number": ADULTS[0], "hours": 1}],
            }
        )
    assert missing.value.exc_type == "TeamNotFound"
    assert [v["town"] for v in staff.list_venues(town="330282004")] == ["浒山街道"]
