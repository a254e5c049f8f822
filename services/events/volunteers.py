"""Volunteer teams and their service hours (the seed: 8 teams served 1,800+ people)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.events import models as m
from services.events import schemas as s
from services.events.activities import add_named, town_named
from services.events.exceptions import ActivityNotFound, TeamNotFound
from shared.platform.ids import new_id
from shared.platform.unit_of_work import WorkerDesk, transactional


def record_service(
    session: Session,
    outbox,
    team_id: str,
    service_date: date,
    people_served: int,
    volunteers: list[tuple[str, Decimal]],
    activity_id: str | None,
    by: str,
    now: datetime,
) -> m.ServiceRecord:
    """`volunteers` is (resident_id, hours) per volunteer; hours are kept as whole minutes."""
    team = session.get(m.VolunteerTeam, team_id)
    if team is None:
        raise TeamNotFound(team_id)
    if activity_id is not None and session.get(m.Activity, activity_id) is None:
        raise ActivityNotFound(activity_id)
    record = m.ServiceRecord(
        id=new_id(),
        team_id=team.id,
        activity_id=activity_id,
        service_date=service_date,
        people_served=people_served,
        recorded_by=by,
        created_at=now,
    )
    session.add(record)
    session.flush()
    minutes = [(resident_id, int(hours * 60)) for resident_id, hours in volunteers]
    session.add_all(m.ServiceHours(record_id=record.id, resident_id=rid, minutes=mins) for rid, mins in minutes)
    outbox.add(
        "service_hours_recorded",
        {
            "record_id": record.id,
            "team_id": team.id,
            "team_name": team.name,
            "town": team.town,
            "activity_id": activity_id,
            "service_date": service_date.isoformat(),
            "volunteers": len(minutes),
            "minutes": sum(mins for _, mins in minutes),
            "people_served": people_served,
        },
    )
    return record


def team_totals(session: Session, team_ids: list[str]) -> dict[str, dict]:
    """Per team: service records, distinct volunteers, hours and people served."""
    totals = {tid: {"records": 0, "volunteers": 0, "hours": 0.0, "people_served": 0} for tid in team_ids}
    for tid, records, served in session.execute(
        select(m.ServiceRecord.team_id, func.count(), func.coalesce(func.sum(m.ServiceRecord.people_served), 0))
        .where(m.ServiceRecord.team_id.in_(team_ids))
        .group_by(m.ServiceRecord.team_id)
    ).all():
        totals[tid].update(records=records, people_served=int(served))
    for tid, volunteers, minutes in session.execute(
        select(
            m.ServiceRecord.team_id,
            func.count(func.distinct(m.ServiceHours.resident_id)),
            func.coalesce(func.sum(m.ServiceHours.minutes), 0),
        )
        .join(m.ServiceHours, m.ServiceHours.record_id == m.ServiceRecord.id)
        .where(m.ServiceRecord.team_id.in_(team_ids))
        .group_by(m.ServiceRecord.team_id)
    ).all():
        totals[tid].update(volunteers=volunteers, hours=round(int(minutes) / 60, 2))
    return totals


class TeamDesk(WorkerDesk):
    @transactional
    def create_volunteer_team(self, data: dict) -> dict:
        row = add_named(self.db, m.VolunteerTeam, "team", data, self.clock.now())
        return {**s.TeamOut().dump(row), **team_totals(self.db, [row.id])[row.id]}

    def list_volunteer_teams(self, town: str | None) -> list[dict]:
        query = select(m.VolunteerTeam).order_by(m.VolunteerTeam.name)
        if town is not None:
            query = query.where(m.VolunteerTeam.town == town_named(town))
        teams = self.db.scalars(query).all()
        totals = team_totals(self.db, [team.id for team in teams])
        return [{**s.TeamOut().dump(team), **totals[team.id]} for team in teams]

    @transactional
    def record_service_hours(self, data: dict, by: str, now: datetime) -> dict:
        volunteers = [(self.pii.resident_id(v["id_number"]), v["hours"]) for v in data["volunteers"]]
        record = record_service(
            self.db,
            self.outbox,
            data["team_id"],
            data["service_date"],
            data["people_served"],
            volunteers,
            data["activity_id"],
            by,
            now,
        )
        return {"record_id": record.id, **team_totals(self.db, [record.team_id])[record.team_id]}
