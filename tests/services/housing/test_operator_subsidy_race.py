"""Two reviewers approve one operator-subsidy assessment at the same moment, over real RPC on SQLite and
PostgreSQL: both have read it as `assessed` before either writes (a barrier holds each worker between its
read and its write), and still exactly one decision is stored, audited and announced."""

from __future__ import annotations

import threading

import eventlet
from nameko.exceptions import RemoteError

from services.housing import operator_subsidy
from services.housing.models import OperatorAssessment
from shared.platform.audit import AuditRecord
from shared.platform.models import OutboxMessage
from tests.services.housing.conftest import count_rows, project, tenancy_application, unit


def assessed_project(call) -> str:
    """A project of five units, four let (80 %, the minimum occupancy), assessed for 2024."""
    caseworker, allocator = call("cw-1", "caseworker"), call("rv-0", "reviewer")
    project_id = caseworker.create_project(project())["project_id"]
    for number in range(5):
        caseworker.list_unit(project_id, unit(f"10{number}"))
    for _ in range(4):
        allocator.allocate_unit(
            caseworker.submit_tenancy_application(tenancy_application())["application_id"], project_id
        )
    return caseworker.assess_operator_subsidy(project_id, 2024)["assessment_id"]


def test_two_reviewers_approving_at_once_one_wins_one_event(call, housing, monkeypatch):
    assessment_id = assessed_project(call)
    both_have_read = threading.Barrier(2, timeout=20)
    decide = operator_subsidy.decide

    def after_both_reads(*args):  # review() decides by a conditional UPDATE once its checks have read the row
        both_have_read.wait()
        return decide(*args)

    monkeypatch.setattr(operator_subsidy, "decide", after_both_reads)
    reviewers = [call(f"rv-{number}", "reviewer") for number in (1, 2)]

    def approve(reviewer):
        try:
            return reviewer.review_operator_subsidy(assessment_id, "approve")
        except RemoteError as error:
            return error

    outcomes = [thread.wait() for thread in [eventlet.spawn(approve, reviewer) for reviewer in reviewers]]
    wins = [outcome for outcome in outcomes if isinstance(outcome, dict)]
    losses = [outcome for outcome in outcomes if isinstance(outcome, RemoteError)]
    assert len(wins) == 1 and [loss.exc_type for loss in losses] == ["InvalidTransition"]
    assert count_rows(housing, OutboxMessage, routing_key="operator_subsidy_approved") == 1
    assert count_rows(housing, OperatorAssessment, status="approved", reviewed_by=wins[0]["reviewed_by"]) == 1
    assert (
        count_rows(housing, AuditRecord, case_type="operator_subsidy", case_id=assessment_id, to_state="approved") == 1
    )
