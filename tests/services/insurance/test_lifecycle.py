"""The enrolment state machine: every (action, status) pair is either the documented step or refused."""

from __future__ import annotations

from datetime import date

import pytest

from services.insurance import lifecycle
from services.insurance.exceptions import InvalidTransition

ALLOWED = {
    ("activate", "pending"): "active",
    ("reject", "pending"): "rejected",
    ("reinstate", "rejected"): "active",  # an upheld appeal only
    ("suspend", "active"): "suspended",
    ("resume", "suspended"): "active",
    ("lapse", "active"): "lapsed",
    ("renew", "active"): "active",
    ("renew", "lapsed"): "active",
    ("end", "active"): "ended",
    ("end", "suspended"): "ended",
    ("end", "lapsed"): "ended",
}
PAIRS = [(action, status) for action in lifecycle.STEPS for status in lifecycle.STATUSES]


@pytest.mark.parametrize("action, status", PAIRS, ids=[f"{a}-from-{s}" for a, s in PAIRS])
def test_every_transition_is_allowed_or_refused(action, status):
    if (action, status) in ALLOWED:
        assert lifecycle.step(action, status).target == ALLOWED[(action, status)]
    else:
        with pytest.raises(InvalidTransition, match=f"cannot {action} an enrolment that is {status}"):
            lifecycle.step(action, status)


def test_final_states_have_no_way_out_but_an_upheld_appeal():
    for status in lifecycle.FINAL:
        ways_out = [action for action, step in lifecycle.STEPS.items() if status in step.sources]
        assert ways_out == (["reinstate"] if status == "rejected" else [])


def test_each_step_has_its_event():
    assert {step.event for step in lifecycle.STEPS.values()} == {
        "enrolment_activated",
        "enrolment_rejected",
        "enrolment_suspended",
        "enrolment_resumed",
        "enrolment_lapsed",
        "enrolment_renewed",
        "enrolment_ended",
    }


@pytest.mark.parametrize(
    "start, months, end",
    [
        (date(2026, 1, 1), 12, date(2026, 12, 31)),
        (date(2026, 3, 15), 12, date(2027, 3, 14)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),  # Feb has no 31st: the period runs to its last day
        (date(2026, 3, 1), 1, date(2026, 3, 31)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
    ],
)
def test_coverage_period(start, months, end):
    assert lifecycle.coverage_period(start, months) == (start, end)


def test_renewal_is_seamless_when_active_and_restarts_today_when_lapsed():
    end = date(2026, 12, 31)
    assert lifecycle.renewal_start(end, "active", date(2026, 12, 1)) == date(2027, 1, 1)
    assert lifecycle.renewal_start(end, "lapsed", date(2027, 2, 10)) == date(2027, 2, 10)
