"""Unit tests of the pure rules: ages from ID numbers, family parties, holds, waitlist order, local days."""

from datetime import UTC, date, datetime, timedelta

import pytest

from services.events.rules import Audience, activity_days, build_party, hold_expiry, local_date, waitlist_order
from tests.services.events.conftest import make_id

ON = date(2025, 7, 3)
PARENT = make_id(date(1988, 3, 1))
CHILD_8 = make_id(date(2016, 9, 1), 2)
CHILD_6_TOMORROW = make_id(date(2019, 7, 4), 3)  # turns 6 the day after the activity


def party(children=(), attends=True, low=None, high=None, registrant=PARENT, max_size=6):
    return build_party(registrant, list(children), attends, Audience(low, high, ON), 17, max_size)


def test_a_parent_with_children_takes_a_seat_each():
    members, problems = party([CHILD_8])
    assert problems == {}
    assert [(m.field, m.is_child, m.age) for m in members] == [("id_number", False, 37), ("children.0", True, 8)]


def test_a_parent_who_only_brings_children_takes_no_seat():
    members, problems = party([CHILD_8], attends=False, low=6, high=12)
    assert problems == {}
    assert [m.field for m in members] == ["children.0"]


@pytest.mark.parametrize(
    ("children", "attends", "low", "high", "expected"),
    [
        ([CHILD_6_TOMORROW], False, 6, 12, {"children.0": ["age 5 is below the minimum 6"]}),
        ([CHILD_8], False, 3, 7, {"children.0": ["age 8 is above the maximum 7"]}),
        ([CHILD_8], True, 6, 12, {"id_number": ["age 37 is above the maximum 12"]}),
        ([CHILD_8], True, None, None, {}),
    ],
)
def test_every_attending_member_is_checked_against_the_age_range(children, attends, low, high, expected):
    _, problems = party(children, attends, low, high)
    assert problems == expected


def test_age_is_taken_on_the_activity_day_birthday_included():
    born_on_the_day = make_id(date(2019, 7, 3), 4)
    _, problems = party([born_on_the_day], attends=False, low=6)
    assert problems == {}


def test_an_adult_cannot_be_listed_as_a_child_and_a_minor_cannot_bring_children():
    _, problems = party([PARENT], registrant=CHILD_8)
    assert set(problems) == {"id_number", "children.0"}


def test_party_size_is_capped_by_policy():
    children = [make_id(date(2016, 1, 1), n) for n in range(1, 4)]
    _, problems = party(children, max_size=3)
    assert problems == {"children": ["a party takes at most 3 seats"]}


def test_a_hold_never_outlasts_the_start():
    now = datetime(2025, 7, 1, 1, 0, tzinfo=UTC)
    assert hold_expiry(now, 60, now + timedelta(days=1)) == now + timedelta(minutes=60)
    assert hold_expiry(now, 60 * 48, now + timedelta(days=1)) == now + timedelta(days=1)


def test_waitlist_order_is_priority_then_arrival():
    entries = {"a": (0, 7), "b": (0, 9), "c": (1, 12), "d": (0, 3)}
    assert sorted(entries, key=lambda name: waitlist_order(*entries[name])) == ["c", "d", "a", "b"]


def test_local_days_follow_asia_shanghai():
    # 17:00 UTC on 2 July is 01:00 on 3 July in Cixi
    assert local_date(datetime(2025, 7, 2, 17, 0, tzinfo=UTC)) == date(2025, 7, 3)
    starts = datetime(2025, 7, 7, 1, 0, tzinfo=UTC)
    assert activity_days(starts, starts + timedelta(days=4, hours=6)) == [date(2025, 7, d) for d in range(7, 12)]
