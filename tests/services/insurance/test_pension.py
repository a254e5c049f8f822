"""Enterprise pension is continuous: never renewed, reminded or lapsed; paid month by month, suspended when the
unpaid months reach the policy's threshold [assumed], ended on the holder's retirement day (the 2024 schedule,
by the post recorded) or on transfer out. Medical keeps its yearly period (issue #16 item 3)."""

from __future__ import annotations

from datetime import date

import pytest

from services.insurance import lifecycle
from services.insurance.exceptions import DuplicateContribution, InvalidTransition
from shared.platform.contracts import validate_envelope
from shared.platform.errors import ValidationError

from .conftest import CASEWORKER, REVIEWER, id_number

TODAY = date(2026, 3, 2)
PERMIT = {"number": "ZJ33028201", "issued_in_cixi": True, "valid_until": "2030-06-30"}
WORKER = id_number(date(1990, 5, 17), male=True, serial=44)
# 60 before the reform; born 1966-03, the reform adds 4 months (one per 4 birth months from 1965-01): 2026-07-15
OLDER_MAN = id_number(date(1966, 3, 15), male=True, serial=45)
# a woman in a worker's post, 50 before the reform; born 1976-01, 7 months added (one per 2 months from 1975-01)
WOMAN_WORKER = id_number(date(1976, 1, 10), male=False, serial=46)


def person(number: str) -> dict:
    return {"id_number": number, "hukou": "other", "residence_permit": PERMIT}


def active_pension(counter, number: str = WORKER, **registration) -> str:
    desk = counter.desk
    payload = {"resident": person(number), "kind": "flexible", "start_date": "2026-01-05", "town": "浒山"}
    desk(TODAY).register_employment({**payload, **registration}, CASEWORKER)
    enrolment = desk(TODAY).enrol_pension(
        {"resident": person(number), "route": "flexible", "town": "浒山", "contribution_base_fen": 500_000}, CASEWORKER
    )
    desk(TODAY).decide("activate", {"enrolment_id": enrolment["enrolment_id"]}, REVIEWER)
    return enrolment["enrolment_id"]


def pay(counter, enrolment_id: str, *months: str, on: date = TODAY) -> dict:
    result = {}
    for month in months:
        result = counter.desk(on).record_contribution({"enrolment_id": enrolment_id, "month": month}, CASEWORKER)
    return result


def status(counter, enrolment_id: str) -> str:
    return counter.desk(TODAY).get_enrolment(enrolment_id, REVIEWER)["status"]


def test_renew_and_lapse_are_medical_steps_only():
    for action in ("renew", "lapse"):
        with pytest.raises(InvalidTransition, match=f"cannot {action} a pension enrolment: it is continuous"):
            lifecycle.step(action, "active", "pension")
        assert lifecycle.step(action, "active", "medical").target in ("active", "lapsed")


@pytest.mark.parametrize(
    "start, today, due",
    [
        (date(2026, 3, 2), date(2026, 3, 31), []),  # the start month may still be paid
        (date(2026, 3, 2), date(2026, 4, 1), ["2026-03"]),
        (date(2026, 1, 31), date(2026, 3, 1), ["2026-01", "2026-02"]),
        (date(2025, 12, 1), date(2026, 1, 1), ["2025-12"]),  # across the year
    ],
)
def test_months_due_run_from_the_start_month_to_last_month(start, today, due):
    assert lifecycle.months_due(start, today) == due


def test_a_pension_has_no_period_no_reminder_no_lapse_and_no_renewal(counter):
    enrolment_id = active_pension(counter)
    view = counter.desk(TODAY).get_enrolment(enrolment_id, REVIEWER)
    assert (view["coverage_start"], view["coverage_end"]) == ("2026-03-02", None)
    paid = [f"{year}-{month:02d}" for year in (2026, 2027) for month in range(1, 13)][2:15]  # 2026-03 … 2027-03
    pay(counter, enrolment_id, *paid, on=date(2027, 3, 31))
    swept = counter.desk(date(2027, 4, 1)).sweep()  # a year and a month on, every month paid
    assert (swept["reminded"], swept["lapsed"], swept["suspended_for_arrears"], swept["retired"]) == (0, 0, 0, 0)
    assert status(counter, enrolment_id) == "active"
    with pytest.raises(InvalidTransition, match="continuous"):
        counter.desk(date(2027, 4, 1)).decide("renew", {"enrolment_id": enrolment_id}, CASEWORKER)
    assert counter.events("renewal_due") == counter.events("enrolment_lapsed") == []
    [activated] = [validate_envelope(e)[1] for e in counter.events("enrolment_activated")]
    assert activated["coverage_end"] is None and activated["scheme"] == "pension"


def test_three_unpaid_months_suspend_it_and_two_do_not(counter):
    enrolment_id = active_pension(counter)
    assert counter.desk(date(2026, 5, 31)).sweep()["suspended_for_arrears"] == 0  # March, April unpaid: two
    assert status(counter, enrolment_id) == "active"
    assert counter.desk(date(2026, 6, 1)).sweep()["suspended_for_arrears"] == 1  # March to May: three
    assert counter.desk(date(2026, 6, 2)).sweep()["suspended_for_arrears"] == 0  # once
    assert status(counter, enrolment_id) == "suspended"
    [suspended] = [validate_envelope(e)[1] for e in counter.events("enrolment_suspended")]
    assert (suspended["reason"], suspended["coverage_end"], suspended["note_for_resident"]) == ("arrears", None, None)
    # the arrears paid (补缴), a reviewer resumes it
    assert pay(counter, enrolment_id, "2026-03", "2026-04", "2026-05", on=date(2026, 6, 2))["unpaid_months"] == []
    counter.desk(date(2026, 6, 2)).decide("resume", {"enrolment_id": enrolment_id}, REVIEWER)
    assert counter.desk(date(2026, 6, 3)).sweep()["suspended_for_arrears"] == 0


def test_months_paid_on_time_keep_it_active(counter):
    enrolment_id = active_pension(counter)
    pay(counter, enrolment_id, "2026-03", "2026-04", on=date(2026, 4, 30))
    assert counter.desk(date(2026, 6, 1)).sweep()["suspended_for_arrears"] == 0  # only May unpaid
    assert status(counter, enrolment_id) == "active"


def test_it_ends_on_the_holders_retirement_day_by_the_reform_schedule(counter):
    enrolment_id = active_pension(counter, OLDER_MAN)
    pay(counter, enrolment_id, "2026-03", "2026-04", "2026-05", "2026-06", on=date(2026, 6, 30))
    assert counter.desk(date(2026, 7, 14)).sweep()["retired"] == 0  # 60 years 4 months tomorrow
    assert status(counter, enrolment_id) == "active"
    assert counter.desk(date(2026, 7, 15)).sweep()["retired"] == 1
    assert counter.desk(date(2026, 7, 16)).sweep()["retired"] == 0
    assert status(counter, enrolment_id) == "ended"
    [ended] = [validate_envelope(e)[1] for e in counter.events("enrolment_ended")]
    assert (ended["enrolment_id"], ended["reason"]) == (enrolment_id, "retired")
    with pytest.raises(InvalidTransition):
        pay(counter, enrolment_id, "2026-07", on=date(2026, 7, 16))


def test_a_woman_workers_recorded_post_decides_her_retirement_day(counter):
    enrolment_id = active_pension(counter, WOMAN_WORKER, retirement_category="female_worker")
    # suspended for arrears first: a suspended pension ends on retirement too
    assert counter.desk(date(2026, 8, 9)).sweep() | {"on": None} == {
        "on": None, "reminded": 0, "lapsed": 0, "retired": 0, "suspended_for_arrears": 1,
    }  # fmt: skip
    assert counter.desk(date(2026, 8, 10)).sweep()["retired"] == 1  # 50 years 7 months
    assert status(counter, enrolment_id) == "ended"


def test_transfer_out_ends_it(counter):
    enrolment_id = active_pension(counter)
    ended = counter.desk(TODAY).decide("end", {"enrolment_id": enrolment_id, "reason": "transferred_out"}, REVIEWER)
    assert ended["status"] == "ended" and ended["reason"] == "transferred_out"


def test_a_contribution_is_a_month_of_a_live_pension_recorded_once(counter):
    enrolment_id = active_pension(counter)
    recorded = pay(counter, enrolment_id, "2026-03")
    assert (recorded["month"], recorded["amount_fen"], recorded["unpaid_months"]) == ("2026-03", 100_000, [])
    with pytest.raises(DuplicateContribution):
        pay(counter, enrolment_id, "2026-03")
    with pytest.raises(ValidationError) as caught:
        counter.desk(TODAY).record_contribution(
            {"enrolment_id": enrolment_id, "month": "2026-02", "paid_on": "2026-03-03"}, CASEWORKER
        )
    assert set(caught.value.errors) == {"month", "paid_on"}  # before coverage began; paid after today
    with pytest.raises(ValidationError) as caught:
        counter.desk(TODAY).record_contribution({"enrolment_id": enrolment_id, "month": "2026-04"}, CASEWORKER)
    assert set(caught.value.errors) == {"month"}  # a month not yet begun
    with pytest.raises(ValidationError) as caught:
        counter.desk(TODAY).record_contribution({"enrolment_id": enrolment_id, "month": "2026-13"}, CASEWORKER)
    assert set(caught.value.errors) == {"month"}
    medical = counter.desk(TODAY).enrol_medical(
        {"resident": person(WORKER), "route": "resident", "town": "浒山"}, CASEWORKER
    )["enrolment_id"]
    counter.desk(TODAY).decide("activate", {"enrolment_id": medical}, REVIEWER)
    with pytest.raises(InvalidTransition, match="only pension is paid monthly"):
        pay(counter, medical, "2026-03")
    [event] = [validate_envelope(e)[1] for e in counter.events("contribution_recorded")]
    assert (event["month"], event["amount_fen"], event["paid_on"]) == ("2026-03", 100_000, TODAY)
