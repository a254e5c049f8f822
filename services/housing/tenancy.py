"""保障性租赁住房: projects, units (rent cap checked at listing), tenancy applications, allocation, exit.

A unit is let by a conditional UPDATE (`status = 'vacant'` → `'let'`): of two allocations racing for
the last unit exactly one changes the row, the other finds nothing left and gets `NoVacantUnit`.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from services.housing import rules
from services.housing.cases import (
    close_case,
    facts_from,
    new_application,
    require_visible,
)
from services.housing.exceptions import (
    InvalidTransition,
    MakerCheckerViolation,
    NoVacantUnit,
    ProjectNotFound,
    RentCapExceeded,
    RentIncreaseExceeded,
    TenancyNotFound,
    UnitAreaExceeded,
    UnitNotFound,
)
from services.housing.models import Project, Tenancy, TenancyApplication, Unit
from services.housing.policy import TENANCY, policy_in_force
from shared.cixi.contracts.housing import NO_LONGER_ELIGIBLE, TENANCY_END_REASONS
from shared.platform.auth import Caller
from shared.platform.clock import local_date
from shared.platform.dates import add_months
from shared.platform.db import move_status
from shared.platform.errors import ValidationError
from shared.platform.ids import new_id
from shared.platform.personal_data_provider import PiiTools
from shared.platform.validation import echo

VACANT, LET, WITHDRAWN = "vacant", "let", "withdrawn"
SUBMITTED, INELIGIBLE, ALLOCATED = "submitted", "ineligible", "allocated"
# what a caseworker may end a tenancy for; no_longer_eligible is the renewal check's own
EXIT_REASONS = TENANCY_END_REASONS[:6]


def project_dict(project: Project) -> dict:
    return {
        "project_id": project.id,
        "name": project.name,
        "operator": project.operator,
        "town": project.town,
        "kind": project.kind,
        "year_raised": project.year_raised,
        "planned_units": project.planned_units,
    }


def unit_dict(unit: Unit) -> dict:
    return {
        "unit_id": unit.id,
        "project_id": unit.project_id,
        "unit_no": unit.unit_no,
        "area_m2": str(unit.area_m2),
        "monthly_rent_fen": unit.monthly_rent_fen,
        "market_rent_fen": unit.market_rent_fen,
        "rent_policy_id": unit.rent_policy_id,
        "status": unit.status,
    }


def tenancy_dict(tenancy: Tenancy) -> dict:
    return {
        "tenancy_id": tenancy.id,
        "application_id": tenancy.application_id,
        "unit_id": tenancy.unit_id,
        "project_id": tenancy.project_id,
        "resident_id": tenancy.resident_id,
        "town": tenancy.town,
        "monthly_rent_fen": tenancy.monthly_rent_fen,
        "rent_set_on": (tenancy.rent_set_on or tenancy.start_date).isoformat(),
        "start_date": tenancy.start_date.isoformat(),
        "end_date": tenancy.end_date.isoformat(),
        "status": tenancy.status,
        "ended_at": tenancy.ended_at.isoformat() if tenancy.ended_at else None,
        "end_reason": tenancy.end_reason,
    }


def application_dict(application: TenancyApplication) -> dict:
    return {
        "application_id": application.id,
        "resident_id": application.resident_id,
        "id_number": application.id_number_masked,
        "name": application.name,
        "phone": application.phone_masked,
        "town": application.town,
        "household_size": application.household_size,
        "status": application.status,
        "reasons": json.loads(application.reasons),
        "submitted_by": application.submitted_by,
        "eligibility_policy_id": application.eligibility_policy_id,
    }


def create_project(session: Session, outbox, data: dict, now) -> dict:
    """A project taken into the stock: its `planned_units` are the units it raises (筹建), published for the
    stock figure whether or not they are listed one by one yet."""
    project = Project(id=new_id(), **data, created_at=now)
    session.add(project)
    session.flush()  # the column defaults, for the view
    outbox.add(
        "project_raised",
        {
            "project_id": project.id,
            "town": project.town,
            "kind": project.kind,
            "year_raised": project.year_raised,
            "units": project.planned_units,
        },
    )
    return project_dict(project)


def get_project(session: Session, project_id) -> Project:
    project = session.get(Project, project_id) if isinstance(project_id, str) else None
    if project is None:
        raise ProjectNotFound(f"no project {echo(project_id)}")
    return project


def list_projects(session: Session) -> list[Project]:
    return list(session.scalars(select(Project).order_by(Project.year_raised, Project.name)))


def list_units(session: Session, project_id, status=None) -> list[Unit]:
    project = get_project(session, project_id)
    query = select(Unit).where(Unit.project_id == project.id).order_by(Unit.unit_no)
    if status is not None:
        query = query.where(Unit.status == status)
    return list(session.scalars(query))


def list_unit(session: Session, project_id, data: dict, now) -> dict:
    """List a unit for letting: its rent within the cap relative to the assessed market rent, its area within
    the unit-size limit. A unit breaking both is refused for the first, the message naming both."""
    project = get_project(session, project_id)
    policy = policy_in_force(session, TENANCY, local_date(now))
    breaches: list[tuple[type, str]] = []
    if not rules.rent_within_cap(data["monthly_rent_fen"], data["market_rent_fen"], policy.rules):
        cap = rules.rent_cap_fen(data["market_rent_fen"], policy.rules)
        breaches.append((RentCapExceeded, f"rent {data['monthly_rent_fen']} fen is above the cap of {cap} fen"
                         f" ({policy['rent_cap_permille'] / 10:g}% of market rent)"))  # fmt: skip
    if not rules.unit_area_within_limit(data["area_m2"], policy.rules):
        breaches.append((UnitAreaExceeded, f"area {data['area_m2']} ㎡ is above the 保租房 limit of"
                         f" {policy['max_unit_area_m2']} ㎡ construction area"))  # fmt: skip
    if breaches:
        raise breaches[0][0]("; ".join(message for _, message in breaches) + f" ({policy.trace})")
    if session.scalar(select(Unit.id).where(Unit.project_id == project.id, Unit.unit_no == data["unit_no"])):
        raise ValidationError({"unit_no": [f"unit {data['unit_no']} is already listed in this project"]})
    unit = Unit(id=new_id(), project_id=project.id, **data, rent_policy_id=policy.id, status=VACANT, listed_at=now)
    session.add(unit)
    session.flush()  # the column defaults, for the view
    return unit_dict(unit)


def submit_application(session: Session, pii: PiiTools, caller: Caller, data: dict, now) -> dict:
    policy = policy_in_force(session, TENANCY, local_date(now))
    facts = facts_from(rules.TenancyFacts, data)
    reasons = rules.tenancy_eligibility(facts, policy.rules, local_date(now))
    evaluation = {"programme": "tenancy", "facts": facts, "reasons": reasons, "policy_id": policy.id, "now": now}
    application = new_application(
        session, TenancyApplication, pii, caller, data, evaluation, household_size=data["household_size"]
    )
    return {"application_id": application.id, "status": application.status, "reasons": reasons}


def get_application(session: Session, caller: Caller, application_id) -> dict:
    application = session.get(TenancyApplication, application_id) if isinstance(application_id, str) else None
    return application_dict(require_visible(caller, application, "tenancy application", application_id))


def allocate(session: Session, outbox, caller: Caller, application_id, project_id, unit_id, start_date, now) -> dict:
    """Let a vacant unit of the project (or the named unit) to a submitted, eligible application."""
    start = local_date(now) if start_date is None else parse_date(start_date, "start_date")
    application = session.get(TenancyApplication, application_id) if isinstance(application_id, str) else None
    require_visible(caller, application, "tenancy application", application_id)
    if application.status != SUBMITTED:
        raise InvalidTransition(f"tenancy application {application.id} is {application.status}, not awaiting a unit")
    if caller.subject in (application.submitted_by, application.owner_subject):
        raise MakerCheckerViolation(f"{caller.subject} submitted application {application.id} and may not allocate it")
    project = get_project(session, project_id)
    unit = _claim_unit(session, project, unit_id)
    policy = policy_in_force(session, TENANCY, start)
    end = add_months(start, int(policy["lease_months"])) - timedelta(days=1)
    tenancy = Tenancy(
        id=new_id(),
        application_id=application.id,
        unit_id=unit.id,
        project_id=project.id,
        resident_id=application.resident_id,
        town=project.town,
        monthly_rent_fen=unit.monthly_rent_fen,
        rent_set_on=start,
        start_date=start,
        end_date=end,
        status="active",
        allocated_by=caller.subject,
    )
    session.add(tenancy)
    application.status = ALLOCATED
    outbox.add(
        "tenancy_started",
        {
            "tenancy_id": tenancy.id,
            "project_id": project.id,
            "unit_id": unit.id,
            "resident_id": tenancy.resident_id,
            "town": tenancy.town,
            "monthly_rent_fen": tenancy.monthly_rent_fen,
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
        },
    )
    return tenancy_dict(tenancy)


def parse_date(value, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationError({field: ["Must be a date as YYYY-MM-DD."]}) from None


def _claim_unit(session: Session, project: Project, unit_id) -> Unit:
    """Flip one vacant unit to let; the conditional UPDATE is the guard against letting a unit twice."""
    if unit_id is not None:
        candidates = [unit_id]
        unit = session.get(Unit, unit_id) if isinstance(unit_id, str) else None
        if unit is None or unit.project_id != project.id:
            raise UnitNotFound(f"no unit {unit_id} in project {project.id}")
    else:
        candidates = list(
            session.scalars(
                select(Unit.id).where(Unit.project_id == project.id, Unit.status == VACANT).order_by(Unit.unit_no)
            )
        )
    for candidate in candidates:
        if move_status(session, Unit, candidate, VACANT, {"status": LET}):
            unit = session.get(Unit, candidate)
            session.refresh(unit)
            return unit
    which = f"unit {unit_id} is not vacant" if unit_id else f"project {project.id} has no vacant unit"
    raise NoVacantUnit(which)


def load_tenancy(session: Session, tenancy_id) -> Tenancy:
    tenancy = session.get(Tenancy, tenancy_id) if isinstance(tenancy_id, str) else None
    if tenancy is None:
        raise TenancyNotFound(f"no tenancy {echo(tenancy_id)}")
    return tenancy


def end_tenancy(session: Session, outbox, tenancy_id, reason, now) -> dict:
    if reason not in EXIT_REASONS:
        raise ValidationError({"reason": [f"Must be one of {', '.join(EXIT_REASONS)}."]})
    tenancy = load_tenancy(session, tenancy_id)
    end_lease(session, outbox, tenancy, reason, now)
    return tenancy_dict(tenancy)


def end_lease(session: Session, outbox, tenancy: Tenancy, reason: str, now, failed: list[str] = ()) -> None:
    if tenancy.status != "active":
        raise InvalidTransition(f"tenancy {tenancy.id} is {tenancy.status}")
    tenancy.status, tenancy.ended_at, tenancy.end_reason = "ended", now, reason
    session.execute(update(Unit).where(Unit.id == tenancy.unit_id).values(status=VACANT))
    close_case(session, tenancy.resident_id, tenancy.application_id)
    outbox.add(
        "tenancy_ended",
        {
            "tenancy_id": tenancy.id,
            "resident_id": tenancy.resident_id,
            "town": tenancy.town,
            "reason": reason,
            "eligibility_reasons": list(failed),
            "ended_at": now.isoformat(),
        },
    )


def renew_tenancy(session: Session, outbox, pii: PiiTools, tenancy_id, changes: dict, now) -> dict:
    """Renewal after eligibility is checked again: a further lease term, or exit with the reasons."""
    tenancy = load_tenancy(session, tenancy_id)
    if tenancy.status != "active":
        raise InvalidTransition(f"tenancy {tenancy.id} is {tenancy.status}")
    application = session.get(TenancyApplication, tenancy.application_id)
    changes = dict(changes)
    new_rent = changes.pop("monthly_rent_fen", None)
    today = local_date(now)
    policy = policy_in_force(session, TENANCY, today)
    if new_rent is not None and new_rent != tenancy.monthly_rent_fen:
        rent_set_on = tenancy.rent_set_on or tenancy.start_date
        rise = rules.rent_increase(tenancy.monthly_rent_fen, new_rent, rent_set_on, today, policy.rules)
        if not rise.allowed:
            raise RentIncreaseExceeded(f"{rise.detail} ({policy.trace})")
        tenancy.monthly_rent_fen, tenancy.rent_set_on = new_rent, today
    for key, value in changes.items():
        setattr(application, key, value)
    facts = rules.TenancyFacts(
        id_number=pii.decrypt(application.id_number_encrypted),
        is_local_hukou=application.is_local_hukou,
        has_residence_permit=application.has_residence_permit,
        owns_home_in_cixi=application.owns_home_in_cixi,
        employed_in_cixi=application.employed_in_cixi,
    )
    reasons = rules.tenancy_eligibility(facts, policy.rules, today)
    if reasons:
        end_lease(session, outbox, tenancy, NO_LONGER_ELIGIBLE, now, failed=reasons)
    else:
        next_start = tenancy.end_date + timedelta(days=1)
        tenancy.end_date = add_months(next_start, int(policy["lease_months"])) - timedelta(days=1)
    return tenancy_dict(tenancy)


def expired(today: date):
    """The active tenancies whose lease ended before `today` without renewal; each is ended
    `end_lease(..., "lease_expired", ...)` and its unit becomes vacant."""
    return select(Tenancy).where(Tenancy.status == "active", Tenancy.end_date < today).order_by(Tenancy.id)


def unit_counts_by_year(session: Session) -> list[dict]:
    """Per year a project was raised: units listed, units let now, and the projects' `planned_units` (their
    size when taken in, which the stock figure counts)."""
    listed = {
        year: (units, int(let))
        for year, units, let in session.execute(
            select(
                Project.year_raised,
                func.count(Unit.id),
                func.coalesce(func.sum(case((Unit.status == LET, 1), else_=0)), 0),
            )
            .join(Unit, Unit.project_id == Project.id)
            .group_by(Project.year_raised)
        )
    }
    planned = dict(
        session.execute(
            select(Project.year_raised, func.sum(Project.planned_units)).group_by(Project.year_raised)
        ).all()
    )
    return [
        {
            "year": year,
            "units": listed.get(year, (0, 0))[0],
            "let": listed.get(year, (0, 0))[1],
            "planned": int(planned.get(year) or 0),
        }
        for year in sorted(set(listed) | set(planned))
    ]
