"""Venues and activities: creating, changing, cancelling and listing them (the seat and waitlist
consequences of a change are `workflow`'s)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.events import models as m
from services.events import schemas as s
from services.events import workflow
from services.events.attendance import attendance_summary
from services.events.exceptions import ActivityNotFound, DuplicateName, TeamNotFound, VenueNotFound
from services.events.policy import policy_in_force
from services.events.views import activities_out, activity_out
from shared.cixi.towns import resolve_town
from shared.platform.auth import Caller
from shared.platform.clock import local_date, local_day_bounds
from shared.platform.errors import ValidationError
from shared.platform.ids import new_id
from shared.platform.unit_of_work import WorkerDesk, transactional
from shared.platform.validation import echo, load


def find_activity(session: Session, activity_id) -> m.Activity:
    row = session.get(m.Activity, activity_id) if s.is_id(activity_id) else None
    if row is None:
        raise ActivityNotFound("no such activity")
    return row


def find_venue(session: Session, venue_id: str) -> m.Venue:
    row = session.get(m.Venue, venue_id)
    if row is None:
        raise VenueNotFound(venue_id)
    return row


def check_team(session: Session, team_id: str | None) -> None:
    if team_id is not None and session.get(m.VolunteerTeam, team_id) is None:
        raise TeamNotFound(team_id)


def town_named(town: str) -> str:
    """The division's canonical name, for a filter given by the caller."""
    resolved = resolve_town(town)
    if resolved is None:
        raise ValidationError({"town": ["not one of Cixi's 20 divisions"]})
    return resolved.name


def add_named(session: Session, model, what: str, data: dict, now):
    """A venue or team: its name is unique, its town the division's canonical name."""
    data["town"] = resolve_town(data["town"]).name
    if session.scalar(select(model.id).where(model.name == data["name"])):
        raise DuplicateName(f"a {what} named {echo(data['name'])} exists")
    row = model(id=new_id(), created_at=now, **data)
    session.add(row)
    session.flush()
    return row


class ActivityDesk(WorkerDesk):
    @transactional
    def create_venue(self, data: dict) -> dict:
        if data["shares_venue_id"] is not None and find_venue(self.db, data["shares_venue_id"]).kind != "town_branch":
            raise ValidationError({"shares_venue_id": ["a reading room shares a town branch library's premises"]})
        now = self.clock.now()
        data["opened_on"] = data["opened_on"] or local_date(now)
        row = add_named(self.db, m.Venue, "venue", data, now)
        self.outbox.add(
            "venue_registered",
            {
                "venue_id": row.id,
                "name": row.name,
                "kind": row.kind,
                "town": row.town,
                "shares_venue_id": row.shares_venue_id,
                "opened_on": row.opened_on.isoformat(),
            },
        )
        return s.VenueOut().dump(row)

    def list_venues(self, town: str | None, kind: str | None) -> list[dict]:
        query = select(m.Venue).order_by(m.Venue.town, m.Venue.name)
        if town is not None:
            query = query.where(m.Venue.town == town_named(town))
        if kind is not None:
            if not isinstance(kind, str) or len(kind) > 50:
                raise ValidationError({"kind": ["Must be a venue kind (text)."]})
            query = query.where(m.Venue.kind == kind)
        return s.VenueOut(many=True).dump(self.db.scalars(query).all())

    @transactional
    def create_activity(self, data: dict, caller: Caller, now) -> dict:
        venue = find_venue(self.db, data["venue_id"])
        check_team(self.db, data["organiser_team_id"])
        row = m.Activity(
            id=new_id(),
            town=venue.town,
            seats_taken=0,
            status=m.SCHEDULED,
            lock_version=0,
            created_by=caller.subject,
            created_at=now,
            updated_at=now,
            **data,
        )
        self.db.add(row)
        self.db.flush()
        event = workflow.activity_data(row, venue.name)
        event.update(capacity=row.capacity, moderated=row.moderated, organiser_team_id=row.organiser_team_id)
        self.outbox.add("activity_scheduled", event)
        return activity_out(self.db, row)

    @transactional
    def update_activity(self, activity_id: str, changes: dict, now) -> dict:
        """`changes` are merged into the activity and the whole checked again (`starts_at` in the future only
        when it is among the changes)."""
        current = find_activity(self.db, activity_id)
        if not isinstance(changes, dict) or not changes:
            raise ValidationError({"_schema": ["give at least one field to change"]})
        merged = {**s.ActivityInput().dump(current), **changes}
        clean = load(s.ActivityInput(), merged, now=now, check_future="starts_at" in changes)
        clean = {key: clean[key] for key in changes}
        if "venue_id" in clean:
            clean["town"] = find_venue(self.db, clean["venue_id"]).town
        if "organiser_team_id" in clean:
            check_team(self.db, clean["organiser_team_id"])
        policy = policy_in_force(self.db, local_date(now))
        row = workflow.update_activity(self.db, self.outbox, activity_id, clean, now, policy.hold_minutes)
        return activity_out(self.db, row)

    @transactional
    def cancel_activity(self, activity_id: str, reason: str) -> dict:
        find_activity(self.db, activity_id)
        row = workflow.cancel_activity(self.db, self.outbox, activity_id, reason, self.clock.now())
        return activity_out(self.db, row)

    def get_activity(self, activity_id) -> dict:
        row = find_activity(self.db, activity_id)
        out = activity_out(self.db, row)
        out["attendance"] = attendance_summary(self.db, row.id)
        return out

    def list_activities(self, data: dict) -> list[dict]:
        query = select(m.Activity).order_by(m.Activity.starts_at, m.Activity.id)
        if data["town"]:
            query = query.where(m.Activity.town == resolve_town(data["town"]).name)
        if data["kind"]:
            query = query.where(m.Activity.kind == data["kind"])
        if data["date_from"]:
            query = query.where(m.Activity.starts_at >= local_day_bounds(data["date_from"])[0])
        if data["date_to"]:
            query = query.where(m.Activity.starts_at < local_day_bounds(data["date_to"])[1])
        rows = self.db.scalars(query.limit(data["limit"]).offset(data["offset"])).all()
        return activities_out(self.db, rows) if rows else []
