"""运营奖补: assess a project's year against the operator-subsidy policy, then a reviewer approves it."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.housing import rules
from services.housing.decisions import check_decision, decide
from services.housing.exceptions import (
    AssessmentExists,
    AssessmentNotFound,
    BeforeSchemeStart,
    InvalidTransition,
    MakerCheckerViolation,
)
from services.housing.models import OperatorAssessment, Unit
from services.housing.policy import OPERATOR_SUBSIDY, TENANCY, policy_in_force
from services.housing.tenancy import LET, WITHDRAWN, get_project
from shared.platform.auth import Caller
from shared.platform.errors import ValidationError
from shared.platform.ids import new_id
from shared.platform.validation import echo

ASSESSED, INELIGIBLE, APPROVED, REJECTED = "assessed", "ineligible", "approved", "rejected"


def assessment_dict(assessment: OperatorAssessment) -> dict:
    return {
        "assessment_id": assessment.id,
        "project_id": assessment.project_id,
        "year": assessment.year,
        "units": assessment.units,
        "occupied_units": assessment.occupied_units,
        "area_m2": str(assessment.area_m2),
        "amount_fen": assessment.amount_fen,
        "reasons": json.loads(assessment.reasons),
        "policy_id": assessment.policy_id,
        "policy_ref": assessment.policy_ref,
        "status": assessment.status,
        "assessed_by": assessment.assessed_by,
        "reviewed_by": assessment.reviewed_by,
        "review_note": assessment.review_note,
    }


def project_year(session: Session, project_id: str, rent_rules: dict) -> rules.ProjectYear:
    units = session.scalars(select(Unit).where(Unit.project_id == project_id, Unit.status != WITHDRAWN)).all()
    return rules.ProjectYear(
        units=len(units),
        occupied_units=sum(1 for unit in units if unit.status == LET),
        area_m2=sum((Decimal(unit.area_m2) for unit in units), Decimal("0")),
        units_over_rent_cap=sum(
            1 for unit in units if not rules.rent_within_cap(unit.monthly_rent_fen, unit.market_rent_fen, rent_rules)
        ),
    )


def check_year(year) -> None:
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ValidationError({"year": ["Must be a year between 2000 and 2100."]})


def assess(session: Session, caller: Caller, project_id, year, now) -> dict:
    check_year(year)
    project = get_project(session, project_id)
    year_end = date(year, 12, 31)
    policy = policy_in_force(session, OPERATOR_SUBSIDY, year_end)
    facts = project_year(session, project.id, policy_in_force(session, TENANCY, year_end).rules)
    amount, reasons = rules.operator_subsidy(facts, policy.rules)
    assessment = OperatorAssessment(
        id=new_id(),
        project_id=project.id,
        year=year,
        units=facts.units,
        occupied_units=facts.occupied_units,
        area_m2=facts.area_m2,
        amount_fen=amount,
        reasons=json.dumps(reasons),
        policy_id=policy.id,
        policy_ref=policy.trace[:200],
        status=INELIGIBLE if reasons else ASSESSED,
        assessed_by=caller.subject,
        assessed_at=now,
    )
    session.add(assessment)
    exists = f"project {project.id} already has an operator-subsidy assessment for {year}"
    try:
        session.flush()
    except IntegrityError:  # the session is unusable until @transactional rolls it back: nothing is read here
        raise AssessmentExists(exists) from None
    return assessment_dict(assessment)


def review(session: Session, outbox, audit, caller: Caller, assessment_id, decision, note, now) -> dict:
    """Approve or reject an assessed year. The decision is a conditional UPDATE (`status = 'assessed'`): of
    two reviewers deciding at once exactly one moves the row and announces it; the other is refused."""
    check_decision(decision, note)
    assessment = session.get(OperatorAssessment, assessment_id) if isinstance(assessment_id, str) else None
    if assessment is None:
        raise AssessmentNotFound(f"no operator-subsidy assessment {echo(assessment_id)}")
    if assessment.status != ASSESSED:
        raise InvalidTransition(f"assessment {assessment.id} is {assessment.status}, not awaiting review")
    if caller.subject == assessment.assessed_by:
        raise MakerCheckerViolation(f"{caller.subject} assessed {assessment.id} and may not review it")
    status = APPROVED if decision == "approve" else REJECTED
    if not decide(session, audit, "operator_subsidy", assessment, ASSESSED, status, caller, note, now):
        raise InvalidTransition(f"assessment {assessment.id} was reviewed concurrently")
    if assessment.status == APPROVED:
        project = get_project(session, assessment.project_id)
        outbox.add(
            "operator_subsidy_approved",
            {
                "assessment_id": assessment.id,
                "project_id": assessment.project_id,
                "town": project.town,
                "year": assessment.year,
                "units": assessment.units,
                "amount_fen": assessment.amount_fen,
                "policy_ref": assessment.policy_ref,
                "approved_at": assessment.reviewed_at.isoformat(),
            },
        )
    return assessment_dict(assessment)


def forecast_of(session: Session, year: int) -> dict | None:
    """The year's budget forecast from the policy row (projects, units, fen), or None: a figure to compare the
    approved amounts against, never a rate (docs/policy.md)."""
    try:
        policy = policy_in_force(session, OPERATOR_SUBSIDY, date(year, 12, 31))
    except BeforeSchemeStart:
        return None
    forecast = policy.get("forecast")
    if forecast is None or int(forecast["year"]) != year:
        return None
    return {
        "projects": int(forecast["projects"]),
        "units": int(forecast["units"]),
        "amount_fen": int(forecast["amount_fen"]),
    }


def summary(session: Session, year) -> dict:
    """Approved operator subsidies of a year: the figures the Center reports (projects, units, yuan), beside the
    year's budget forecast when the policy has one."""
    check_year(year)
    projects, units, total = session.execute(
        select(
            func.count(OperatorAssessment.id),
            func.coalesce(func.sum(OperatorAssessment.units), 0),
            func.coalesce(func.sum(OperatorAssessment.amount_fen), 0),
        ).where(OperatorAssessment.year == year, OperatorAssessment.status == APPROVED)
    ).one()
    forecast = forecast_of(session, year)
    return {
        "year": year,
        "projects": projects,
        "units": int(units),
        "amount_fen": int(total),
        "forecast": forecast,
        "forecast_remaining_fen": forecast["amount_fen"] - int(total) if forecast else None,
    }
