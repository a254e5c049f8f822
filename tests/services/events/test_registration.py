"""Registration through RPC against a running container: confirm, waitlist, family groups, offers and holds,
moderation, age rules, cancellation cascade. Each test runs on SQLite and on PostgreSQL."""

from datetime import UTC, date, datetime

import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_hook

from shared.platform.errors import Forbidden, NotAuthenticated, ValidationError
from tests.services.events.conftest import ADULTS, CHILDREN, make_id, rid


def register(proxy, adult, children=(), **extra):
    return proxy.register(
        {"activity_id": extra.pop("activity_id"), "id_number": adult, "children": list(children), **extra}
    )


def test_seats_are_confirmed_until_full_then_residents_queue(staff, make_activity, outbox):
    activity = make_activity(capacity=2)
    first = register(staff, ADULTS[0], activity_id=activity["id"])
    second = register(staff, ADULTS[1], activity_id=activity["id"])
    third = register(staff, ADULTS[2], activity_id=activity["id"])
    fourth = register(staff, ADULTS[3], activity_id=activity["id"])
    assert [r["status"] for r in (first, second, third, fourth)] == [
        "confirmed",
        "confirmed",
        "waitlisted",
        "waitlisted",
    ]
    assert [third["waitlist_position"], fourth["waitlist_position"]] == [1, 2]
    assert first["resident_id"] == rid(ADULTS[0])
    assert staff.get_activity(activity["id"])["seats_free"] == 0
    assert [e["resident_id"] for e in outbox("registration_confirmed")] == [rid(ADULTS[0]), rid(ADULTS[1])]
    assert [e["position"] for e in outbox("waitlisted")] == [1, 2]
    assert all(ADULTS[0] not in str(e) for e in outbox())  # no ID number in any event


def test_a_listed_waitlist_shows_each_place_in_priority_then_arrival_order(staff, make_activity, events):
    """The list reads every position at once (views.waitlist_positions); each agrees with the single read."""
    activity = make_activity(capacity=1)
    register(staff, ADULTS[0], activity_id=activity["id"])
    queued = [
        register(staff, ADULTS[n], activity_id=activity["id"], priority=priority)
        for n, priority in ((1, 0), (2, 3), (3, 0), (4, 3), (5, 1))
    ]
    listed = {r["id"]: r["waitlist_position"] for r in staff.list_registrations(activity_id=activity["id"])}
    assert [listed[r["id"]] for r in queued] == [4, 1, 5, 2, 3]
    assert [staff.get_registration(r["id"])["waitlist_position"] for r in queued] == [4, 1, 5, 2, 3]
    assert sorted(v for v in listed.values() if v is not None) == [1, 2, 3, 4, 5]


def test_the_same_person_cannot_hold_two_places(staff, make_activity):
    activity = make_activity()
    register(staff, ADULTS[0], activity_id=activity["id"])
    with pytest.raises(RemoteError) as caught:
        register(staff, ADULTS[1], [CHILDREN[0]], activity_id=activity["id"])
        register(staff, ADULTS[2], [CHILDREN[0]], activity_id=activity["id"])
    assert caught.value.exc_type == "AlreadyRegistered"
    with pytest.raises(RemoteError) as again:
        register(staff, ADULTS[0], activity_id=activity["id"])
    assert again.value.exc_type == "AlreadyRegistered"


def test_a_family_gets_all_its_seats_or_none(staff, make_activity, outbox):
    activity = make_activity(capacity=3, min_age=6, max_age=12)
    first = register(staff, ADULTS[0], [CHILDREN[0]], registrant_attends=False, activity_id=activity["id"])
    second = register(staff, ADULTS[1], [CHILDREN[1]], registrant_attends=False, activity_id=activity["id"])
    family = register(staff, ADULTS[2], CHILDREN[2:4], registrant_attends=False, activity_id=activity["id"])
    single = register(staff, ADULTS[3], [CHILDREN[4]], registrant_attends=False, activity_id=activity["id"])
    assert [first["status"], second["status"]] == ["confirmed", "confirmed"]
    assert family["status"] == "waitlisted" and family["seats"] == 2 and family["children"] == 2
    assert single["status"] == "confirmed"  # the last seat fits a party of one, not the family of two
    assert staff.get_activity(activity["id"])["seats_taken"] == 3
    staff.cancel_registration(first["id"])  # one seat frees: still too few for the family
    assert outbox("seat_offered") == []
    staff.cancel_registration(second["id"])  # two seats: the family is offered both, together
    offered = staff.get_registration(family["id"])
    assert offered["status"] == "offered" and len(offered["participants"]) == 2
    assert [e["seats"] for e in outbox("seat_offered")] == [2]


def test_a_cancellation_offers_the_seat_to_the_next_by_priority_then_time(staff, make_activity, outbox, clock):
    activity = make_activity(capacity=1)
    holder = register(staff, ADULTS[0], activity_id=activity["id"])
    early = register(staff, ADULTS[1], activity_id=activity["id"])
    clock.advance(minutes=5)
    late_priority = register(staff, ADULTS[2], activity_id=activity["id"], priority=2)
    assert late_priority["waitlist_position"] == 1
    assert staff.get_registration(early["id"])["waitlist_position"] == 2

    cancelled = staff.cancel_registration(holder["id"])
    assert cancelled["status"] == "cancelled" and cancelled["cancel_reason"] == "by_staff"
    offered = staff.get_registration(late_priority["id"])
    assert offered["status"] == "offered"
    offer = outbox("seat_offered")[-1]
    assert offer["registration_id"] == late_priority["id"]
    assert offer["hold_expires_at"] == offered["hold_expires_at"]
    assert staff.get_activity(activity["id"])["seats_free"] == 0  # the held seat is nobody else's

    accepted = staff.accept_offer(late_priority["id"])
    assert accepted["status"] == "confirmed" and accepted["hold_expires_at"] is None
    assert outbox("registration_confirmed")[-1]["registration_id"] == late_priority["id"]
    assert outbox("registration_cancelled")[-1]["reason"] == "by_staff"


def test_an_unaccepted_hold_expires_to_the_next_on_the_waitlist(events, staff, make_activity, outbox, clock):
    activity = make_activity(capacity=1)
    holder = register(staff, ADULTS[0], activity_id=activity["id"])
    first = register(staff, ADULTS[1], activity_id=activity["id"])
    second = register(staff, ADULTS[2], activity_id=activity["id"])
    staff.cancel_registration(holder["id"])
    hold_until = staff.get_registration(first["id"])["hold_expires_at"]

    with entrypoint_hook(events, "expire_holds") as expire:
        assert expire() == 0  # not yet
        clock.advance(hours=23, minutes=59)
        assert expire() == 0
        clock.advance(minutes=1)  # the policy hold is 24 hours
        assert expire() == 1
    assert staff.get_registration(first["id"])["status"] == "expired"
    assert staff.get_registration(second["id"])["status"] == "offered"
    expired = outbox("offer_expired")
    assert [e["registration_id"] for e in expired] == [first["id"]]
    assert [e["registration_id"] for e in outbox("seat_offered")] == [first["id"], second["id"]]
    assert hold_until.startswith("2025-07-02T01:00")

    with pytest.raises(RemoteError) as caught:
        staff.accept_offer(first["id"])
    assert caught.value.exc_type == "InvalidTransition"
    # the second hold runs 24 hours from its offer: 09:00 local on 3 July, an hour before the start
    assert staff.get_registration(second["id"])["hold_expires_at"] == "2025-07-03T01:00:00+00:00"
    clock.advance(hours=12)
    staff.cancel_registration(second["id"])
    third = register(staff, ADULTS[3], activity_id=activity["id"])
    assert third["status"] == "confirmed"


def test_an_offer_left_past_its_hold_cannot_be_accepted_even_before_the_sweep(staff, make_activity, clock):
    activity = make_activity(capacity=1)
    holder = register(staff, ADULTS[0], activity_id=activity["id"])
    waiting = register(staff, ADULTS[1], activity_id=activity["id"])
    staff.cancel_registration(holder["id"])
    clock.advance(hours=25)
    with pytest.raises(RemoteError) as caught:
        staff.accept_offer(waiting["id"])
    assert caught.value.exc_type == "InvalidTransition"


def test_moderated_registrations_wait_for_a_decision(staff, rpc, make_activity, outbox):
    activity = make_activity(capacity=2, moderated=True)
    approved = register(staff, ADULTS[0], activity_id=activity["id"])
    rejected = register(staff, ADULTS[1], activity_id=activity["id"])
    queued = register(staff, ADULTS[2], activity_id=activity["id"])
    assert [approved["status"], rejected["status"], queued["status"]] == ["pending", "pending", "waitlisted"]
    reviewer = rpc("rv-1", "reviewer")
    assert reviewer.review_registration(approved["id"], {"decision": "approve"})["status"] == "confirmed"
    with pytest.raises(ValidationError) as missing_reason:
        reviewer.review_registration(rejected["id"], {"decision": "reject"})
    assert set(missing_reason.value.errors) == {"reason"}
    done = reviewer.review_registration(rejected["id"], {"decision": "reject", "reason": "名额优先留给小候鸟"})
    assert done["status"] == "rejected" and done["decision_reason"] == "名额优先留给小候鸟"
    with pytest.raises(RemoteError) as twice:
        reviewer.review_registration(approved["id"], {"decision": "approve"})
    assert twice.value.exc_type == "InvalidTransition"
    # the rejected seat goes to the queue; accepting it in a moderated activity means review again
    assert staff.get_registration(queued["id"])["status"] == "offered"
    assert staff.accept_offer(queued["id"])["status"] == "pending"
    assert [e["registration_id"] for e in outbox("registration_pending")] == [
        approved["id"],
        rejected["id"],
        queued["id"],
    ]
    assert outbox("registration_rejected")[0]["reason"] == "名额优先留给小候鸟"


def test_children_outside_the_age_range_are_refused_by_their_id_number(staff, make_activity):
    activity = make_activity(min_age=9, max_age=12)
    too_young = CHILDREN[0]  # 8 on the day
    old_enough = make_id(date(2014, 5, 1), 7)  # 11
    with pytest.raises(RemoteError) as caught:
        register(staff, ADULTS[0], [old_enough, too_young], registrant_attends=False, activity_id=activity["id"])
    assert caught.value.exc_type == "NotEligible"
    assert "children.1" in caught.value.value and "below the minimum 9" in caught.value.value
    assert "children.0" not in caught.value.value
    ok = register(staff, ADULTS[0], [old_enough], registrant_attends=False, activity_id=activity["id"])
    assert ok["status"] == "confirmed" and ok["participants"][0]["age"] == 11


def test_a_resident_registers_only_themselves_and_sees_only_their_own(staff, rpc, make_activity, events_config):
    activity = make_activity()
    me = rpc(rid(ADULTS[0]), "resident")
    mine = register(me, ADULTS[0], [CHILDREN[0]], activity_id=activity["id"])
    with pytest.raises(Forbidden):
        register(me, ADULTS[1], activity_id=activity["id"])
    with pytest.raises(ValidationError) as priority:
        register(me, ADULTS[0], activity_id=activity["id"], priority=5)
    assert set(priority.value.errors) == {"priority"}
    other = register(staff, ADULTS[1], activity_id=activity["id"])
    assert [r["id"] for r in me.list_registrations()] == [mine["id"]]
    assert {r["id"] for r in staff.list_registrations(activity_id=activity["id"])} == {mine["id"], other["id"]}
    with pytest.raises(RemoteError) as hidden:
        me.cancel_registration(other["id"])
    assert hidden.value.exc_type == "RegistrationNotFound"
    assert me.cancel_registration(mine["id"])["cancel_reason"] == "by_resident"
    with ServiceRpcProxy("events", events_config) as anonymous:
        with pytest.raises(NotAuthenticated):
            register(anonymous, ADULTS[2], activity_id=activity["id"])
        assert len(anonymous.list_activities()) == 1  # reading the programme needs no token


def test_cancelling_an_activity_cancels_every_registration_and_tells_each(staff, make_activity, outbox):
    activity = make_activity(capacity=2)
    regs = [register(staff, adult, activity_id=activity["id"]) for adult in ADULTS[:3]]
    cancelled = staff.cancel_activity(activity["id"], "台风停课")
    assert cancelled["status"] == "cancelled" and cancelled["seats_taken"] == 0
    assert {staff.get_registration(r["id"])["status"] for r in regs} == {"cancelled"}
    told = outbox("registration_cancelled")
    assert sorted(e["resident_id"] for e in told) == sorted(rid(a) for a in ADULTS[:3])
    assert {e["reason"] for e in told} == {"activity_cancelled"}
    assert {e["previous_status"] for e in told} == {"confirmed", "waitlisted"}
    assert outbox("activity_cancelled")[0]["registrations_cancelled"] == 3
    with pytest.raises(RemoteError) as closed:
        register(staff, ADULTS[5], activity_id=activity["id"])
    assert closed.value.exc_type == "ActivityNotOpen"


def test_raising_capacity_offers_seats_and_lowering_below_taken_is_refused(staff, make_activity):
    activity = make_activity(capacity=1)
    register(staff, ADULTS[0], activity_id=activity["id"])
    waiting = register(staff, ADULTS[1], activity_id=activity["id"])
    with pytest.raises(ValidationError) as caught:
        staff.update_activity(activity["id"], {"capacity": 0, "ends_at": "2025-07-03T09:00:00+08:00"})
    assert set(caught.value.errors) == {"capacity", "ends_at"}
    staff.update_activity(activity["id"], {"capacity": 2})
    assert staff.get_registration(waiting["id"])["status"] == "offered"
    with pytest.raises(RemoteError) as lower:
        staff.update_activity(activity["id"], {"capacity": 1})
    assert lower.value.exc_type == "CapacityConflict"


def test_moving_an_activity_tells_its_registrants_and_rearms_the_reminder(events, staff, make_activity, outbox, clock):
    activity = make_activity()
    register(staff, ADULTS[0], activity_id=activity["id"])
    with entrypoint_hook(events, "send_reminders") as remind:
        clock.advance(hours=24)  # 09:00 local on 2 July: the 10:00 start on 3 July is 25 hours away
        assert remind() == 0
        clock.advance(hours=1)
        assert remind() == 1
        assert remind() == 0  # once only
        staff.update_activity(
            activity["id"], {"starts_at": "2025-07-03T14:00:00+08:00", "ends_at": "2025-07-03T16:00:00+08:00"}
        )
        assert remind() == 0  # the new start is 28 hours away
        clock.advance(hours=4)
        assert remind() == 1
    moved = outbox("activity_rescheduled")
    assert moved[0]["resident_ids"] == [rid(ADULTS[0])]
    assert moved[0]["previous_starts_at"] == "2025-07-03T02:00:00+00:00"
    reminders = outbox("reminder_due")
    assert len(reminders) == 2 and reminders[-1]["starts_at"] == "2025-07-03T06:00:00+00:00"


def test_holds_end_at_the_start_and_nothing_is_offered_once_it_has_begun(events, staff, make_activity, clock, outbox):
    activity = make_activity(capacity=1)  # 10:00 local on 3 July
    holder = register(staff, ADULTS[0], activity_id=activity["id"])
    waiting = register(staff, ADULTS[1], activity_id=activity["id"])
    last = register(staff, ADULTS[2], activity_id=activity["id"])
    clock.set(datetime(2025, 7, 2, 20, 0, tzinfo=UTC))  # 04:00 local, six hours before the start
    staff.cancel_registration(holder["id"])
    assert staff.get_registration(waiting["id"])["hold_expires_at"] == "2025-07-03T02:00:00+00:00"
    clock.set(datetime(2025, 7, 3, 2, 30, tzinfo=UTC))  # started
    with pytest.raises(RemoteError) as late:
        register(staff, ADULTS[3], activity_id=activity["id"])
    assert late.value.exc_type == "ActivityNotOpen"
    with pytest.raises(RemoteError) as lapsed:
        staff.accept_offer(waiting["id"])
    assert lapsed.value.exc_type == "InvalidTransition"
    with entrypoint_hook(events, "expire_holds") as expire:
        assert expire() == 1
    assert staff.get_registration(waiting["id"])["status"] == "expired"
    assert len(outbox("seat_offered")) == 1  # the freed seat is not offered after the start
    assert staff.get_registration(last["id"])["status"] == "waitlisted"
