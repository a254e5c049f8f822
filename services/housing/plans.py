"""Plans the Center reports beside what happened (seed §1): the units it expects to add to the 保租房 stock
in a year, and the year's operator-subsidy budget forecast. One of each kind per year, published once; the
forecast is read from the operator-subsidy policy row, so the plan and the policy never disagree."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.housing.exceptions import PlanExists, PolicyMissing
from services.housing.models import HousingPlan
from services.housing.operator_subsidy import forecast_of
from services.housing.policy import OPERATOR_SUBSIDY, policy_in_force
from shared.platform.ids import new_id

STOCK, OPERATOR = "stock", "operator_subsidy"


def _add(session: Session, outbox, audit, kind: str, event_type: str, values: dict, by: str, now) -> dict:
    if session.scalar(select(HousingPlan.id).where(HousingPlan.kind == kind, HousingPlan.year == values["year"])):
        raise PlanExists(f"a {kind} plan for {values['year']} exists")
    plan = HousingPlan(id=new_id(), kind=kind, recorded_by=by, created_at=now, **values)
    session.add(plan)
    session.flush()
    audit.record("housing_plan", plan.id, "recorded", changes={"kind": kind, **values})
    event = {"plan_id": plan.id, **values}
    if kind == STOCK:
        event.pop("projects"), event.pop("amount_fen")
    outbox.add(event_type, event)
    return plan_dict(plan)


def record_stock_plan(session: Session, outbox, audit, data: dict, by: str, now) -> dict:
    values = {**data, "projects": 0, "amount_fen": 0}
    return _add(session, outbox, audit, STOCK, "stock_planned", values, by, now)


def publish_operator_forecast(session: Session, outbox, audit, year: int, by: str, now) -> dict:
    forecast = forecast_of(session, year)
    if forecast is None:
        raise PolicyMissing(f"the operator-subsidy policy in force in {year} has no forecast for {year}")
    policy_ref = policy_in_force(session, OPERATOR_SUBSIDY, date(year, 12, 31)).policy_ref
    values = {"year": year, **forecast, "policy_ref": policy_ref[:200]}
    return _add(session, outbox, audit, OPERATOR, "operator_subsidy_planned", values, by, now)


def list_plans(session: Session) -> list[dict]:
    rows = session.scalars(select(HousingPlan).order_by(HousingPlan.year, HousingPlan.kind))
    return [plan_dict(row) for row in rows]


def plan_dict(plan: HousingPlan) -> dict:
    return {
        "plan_id": plan.id,
        "kind": plan.kind,
        "year": plan.year,
        "projects": plan.projects,
        "units": plan.units,
        "amount_fen": plan.amount_fen,
        "policy_ref": plan.policy_ref,
    }
