"""Bad input tables: every RPC refuses malformed input with a ValidationError naming every bad field."""

import pytest

from services.events import schemas as s
from shared.platform.errors import ValidationError
from shared.platform.validation import load
from tests.services.events.conftest import ADULTS, CHILDREN, START_OF_TESTS

GOOD_ACTIVITY = {
    "title": "防溺水安全讲座",
    "kind": "drowning_prevention",
    "venue_id": "00000000-0000-4000-8000-000000000001",
    "starts_at": "2025-07-03T10:00:00+08:00",
    "ends_at": "2025-07-03T11:00:00+08:00",
    "capacity": 40,
}


@pytest.mark.parametrize(
    ("changes", "bad_fields"),
    [
        ({}, set()),
        ({"title": ""}, {"title"}),
        ({"kind": "party"}, {"kind"}),
        ({"capacity": 0}, {"capacity"}),
        ({"capacity": "40"}, {"capacity"}),
        ({"starts_at": "2025-07-03T10:00:00"}, {"starts_at"}),  # no offset: ambiguous
        ({"starts_at": "2025-06-30T10:00:00+08:00"}, {"starts_at"}),  # in the past
        ({"ends_at": "2025-07-03T09:00:00+08:00"}, {"ends_at"}),
        ({"min_age": 12, "max_age": 6}, {"max_age"}),
        ({"min_age": -1}, {"min_age"}),
        ({"colour": "red"}, {"colour"}),
        ({"title": "讲座\x00"}, {"title"}),
        ({"starts_at": "0001-01-01T00:00:00+08:00"}, {"starts_at"}),
        ({"venue_id": "../etc"}, {"venue_id"}),
        (
            {"title": "", "kind": "party", "capacity": -5, "ends_at": "2025-07-03T09:00:00+08:00", "extra": 1},
            {"title", "kind", "capacity", "ends_at", "extra"},
        ),
    ],
)
def test_activity_input(changes, bad_fields):
    payload = {**GOOD_ACTIVITY, **changes}
    if not bad_fields:
        assert load(s.ActivityInput(), payload, now=START_OF_TESTS)["capacity"] == 40
        return
    with pytest.raises(ValidationError) as caught:
        load(s.ActivityInput(), payload, now=START_OF_TESTS)
    assert set(caught.value.errors) == bad_fields


def test_missing_activity_fields_are_all_named():
    with pytest.raises(ValidationError) as caught:
        load(s.ActivityInput(), {}, now=START_OF_TESTS)
    assert set(caught.value.errors) == {"title", "kind", "venue_id", "starts_at", "ends_at", "capacity"}


@pytest.mark.parametrize(
    ("changes", "bad_fields"),
    [
        ({}, set()),
        ({"id_number": "330282198803010010"}, {"id_number"}),  # bad checksum
        ({"id_number": "33028219880230001X"}, {"id_number"}),  # 30 February
        ({"phone": "12345"}, {"phone"}),
        ({"phone": "+86 138-1234-5678"}, set()),
        ({"children": [CHILDREN[0], "nonsense"]}, {"children.1"}),
        ({"children": [CHILDREN[0], CHILDREN[0]]}, {"children.1"}),
        ({"children": [ADULTS[0]]}, {"children.0"}),  # the registrant listed as their own child
        ({"registrant_attends": False}, {"children"}),
        ({"priority": 10}, {"priority"}),
        ({"activity_id": None}, {"activity_id"}),
        (
            {"id_number": "x", "phone": "1", "children": ["y"], "seats": 3},
            {"id_number", "phone", "children.0", "seats"},
        ),
    ],
)
def test_register_input(changes, bad_fields):
    payload = {"activity_id": "00000000-0000-4000-8000-000000000002", "id_number": ADULTS[0], **changes}
    if not bad_fields:
        load(s.RegisterInput(), payload)
        return
    with pytest.raises(ValidationError) as caught:
        load(s.RegisterInput(), payload)
    assert set(caught.value.errors) == bad_fields


@pytest.mark.parametrize(
    ("schema", "payload", "bad_fields"),
    [
        (s.VenueInput, {"name": "", "kind": "pub", "town": "上海"}, {"name", "kind", "town"}),
        (s.VenueInput, {"name": "范市城市书房", "kind": "reading_room", "town": "范市"}, set()),  # old name → 龙山镇
        (s.TeamInput, {"name": "范哥志愿服务队"}, {"town"}),
        (s.ReviewInput, {"decision": "maybe"}, {"decision"}),
        (s.AttendeeInput, {}, {"id_number"}),
        (
            s.ListActivitiesInput,
            {"town": "atlantis", "kind": "rave", "date_from": "2025-13-01"},
            {"town", "kind", "date_from"},
        ),
        (s.ListActivitiesInput, {"date_from": "2025-07-10", "date_to": "2025-07-01"}, {"date_to"}),
        (
            s.ListActivitiesInput,
            {"date_from": "0001-01-01", "date_to": "9999-12-31", "offset": 10**30},
            {"date_from", "date_to", "offset"},
        ),
        (s.ListRegistrationsInput, {"activity_id": "x\x00", "status": "lost"}, {"activity_id", "status"}),
        (
            s.ServiceHoursInput,
            {
                "team_id": "t",
                "service_date": "2025-07-01",
                "people_served": -1,
                "volunteers": [{"id_number": "1", "hours": 30}],
            },
            {"team_id", "people_served", "volunteers.0.id_number", "volunteers.0.hours"},
        ),
        (
            s.ServiceHoursInput,
            {
                "team_id": "00000000-0000-4000-8000-000000000000",
                "service_date": "2025-07-01",
                "people_served": 3,
                "volunteers": [{"id_number": ADULTS[0], "hours": 2}, {"id_number": ADULTS[0], "hours": 1}],
            },
            {"volunteers"},
        ),
    ],
)
def test_other_inputs(schema, payload, bad_fields):
    if not bad_fields:
        load(schema(), payload)
        return
    with pytest.raises(ValidationError) as caught:
        load(schema(), payload)
    assert set(caught.value.errors) == bad_fields


def test_rpc_callers_get_every_bad_field(staff, venue):
    with pytest.raises(ValidationError) as caught:
        staff.create_activity({**GOOD_ACTIVITY, "venue_id": venue["id"], "capacity": 0, "kind": "x", "title": ""})
    assert set(caught.value.errors) == {"capacity", "kind", "title"}
    with pytest.raises(ValidationError) as listing:
        staff.list_activities(town="nowhere", date_from="yesterday")
    assert set(listing.value.errors) == {"town", "date_from"}
    with pytest.raises(ValidationError) as registering:
        staff.register({"activity_id": "a", "id_number": "123", "children": ["456"]})
    assert set(registering.value.errors) == {"activity_id", "id_number", "children.0"}
    assert "456" not in str(registering.value)  # messages never echo what was typed
