"""The events service's entrypoints. Logic longer than a few lines lives in plain modules beside it:
`rules` (ages, party, local dates), `workflow` (seats, waitlist, holds, moderation, cancellation),
`attendance` (check-in/out, closing), `reminders`, `volunteers`."""

from __future__ import annotations

import functools
import logging

from prometheus_client import Gauge
from sqlalchemy import func, select

from services.events import models as m
from services.events import schemas as s
from services.events import workflow
from services.events.attendance import (
    attendance_summary,
    check_in,
    check_out,
    close_activity,
    ended_activities,
)
from services.events.dependencies import Clock
from services.events.exceptions import (
    ActivityNotFound,
    DuplicateName,
    NotEligible,
    RegistrationNotFound,
    TeamNotFound,
    VenueNotFound,
)
from services.events.reminders import activities_due, send_reminders
from services.events.rules import Audience, build_party, local_date, local_day_bounds
from services.events.volunteers import record_service, team_totals
from services.events.workflow import (
    Seat,
    activities_with_expired_holds,
    current_policy,
    ensure_open,
    expire_holds,
    new_id,
    waitlist_position,
)
from shared.audit import Audit, AuditedCase
from shared.auth import require_acting_for, requires
from shared.db import Database
from shared.errors import ValidationError
from shared.outbox import Outbox
from shared.pii import normalise_phone
from shared.privacy import Pii
from shared.rpc import rpc
from shared.service import PlatformService
from shared.timers import timer
from shared.towns import resolve_town
from shared.validation import echo, load_input

log = logging.getLogger(__name__)

REGISTRATIONS_BY_STATUS = Gauge(
    "newcitizen_events_registrations", "Registrations of scheduled activities by status", ["status"]
)

STAFF = ("caseworker", "reviewer")


load = load_input  # RPC input through its schema; a ValidationError names every bad field


def transactional(method):
    """Commit what the method changed, or roll it back before the reply goes out.

    The reply is network I/O: an open SQLite write transaction must never wait on it (see shared/db.py).
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            result = method(self, *args, **kwargs)
            self.db.commit()
            return result
        except BaseException:
            self.db.rollback()
            raise

    return wrapper


class EventsService(PlatformService):
    name = "events"

    db = Database()
    outbox = Outbox()
    pii = Pii()
    clock = Clock()
    audit = Audit({m.Registration: AuditedCase("registration", ("decision_reason", "cancel_reason"))})

    def case_owner(self, case_type: str, case_id: str) -> str | None:
        row = self.db.get(m.Registration, case_id) if case_type == "registration" else None
        return row.resident_id if row else None

    # --- venues and volunteer teams ---------------------------------------------------------------

    @rpc
    @requires("caseworker")
    @transactional
    def create_venue(self, venue: dict) -> dict:
        data = load(s.VenueInput(), venue)
        data["town"] = resolve_town(data["town"]).name
        if self.db.scalar(select(m.Venue.id).where(m.Venue.name == data["name"])):
            raise DuplicateName(f"a venue named {echo(data['name'])} exists")
        row = m.Venue(id=new_id(), created_at=self.clock.now(), **data)
        self.db.add(row)
        self.db.flush()
        return s.VenueOut().dump(row)

    @rpc(read_only=True)
    def list_venues(self, town: str | None = None, kind: str | None = None) -> list[dict]:
        query = select(m.Venue).order_by(m.Venue.town, m.Venue.name)
        if town is not None:
            resolved = resolve_town(town)
            if resolved is None:
                raise ValidationError({"town": ["not one of Cixi's 20 divisions"]})
            query = query.where(m.Venue.town == resolved.name)
        if kind is not None:
            if not isinstance(kind, str) or len(kind) > 50:
                raise ValidationError({"kind": ["Must be a venue kind (text)."]})
            query = query.where(m.Venue.kind == kind)
        return s.VenueOut(many=True).dump(self.db.scalars(query).all())

    @rpc
    @requires("caseworker")
    @transactional
    def create_volunteer_team(self, team: dict) -> dict:
        data = load(s.TeamInput(), team)
        data["town"] = resolve_town(data["town"]).name
        if self.db.scalar(select(m.VolunteerTeam.id).where(m.VolunteerTeam.name == data["name"])):
            raise DuplicateName(f"a team named {echo(data['name'])} exists")
        row = m.VolunteerTeam(id=new_id(), created_at=self.clock.now(), **data)
        self.db.add(row)
        self.db.flush()
        return {**s.TeamOut().dump(row), **team_totals(self.db, [row.id])[row.id]}

    @rpc(read_only=True)
    def list_volunteer_teams(self, town: str | None = None) -> list[dict]:
        query = select(m.VolunteerTeam).order_by(m.VolunteerTeam.name)
        if town is not None:
            resolved = resolve_town(town)
            if resolved is None:
                raise ValidationError({"town": ["not one of Cixi's 20 divisions"]})
            query = query.where(m.VolunteerTeam.town == resolved.name)
        teams = self.db.scalars(query).all()
        totals = team_totals(self.db, [team.id for team in teams])
        return [{**s.TeamOut().dump(team), **totals[team.id]} for team in teams]

    @rpc
    @requires("caseworker")
    @transactional
    def record_service_hours(self, service: dict) -> dict:
        now = self.clock.now()
        data = load(s.ServiceHoursInput(), service, today=local_date(now))
        volunteers = [(self.pii.resident_id(v["id_number"]), v["hours"]) for v in data["volunteers"]]
        record = record_service(
            self.db,
            self.outbox,
            data["team_id"],
            data["service_date"],
            data["people_served"],
            volunteers,
            data["activity_id"],
            self.auth.caller.subject,
            now,
        )
        return {"record_id": record.id, **team_totals(self.db, [record.team_id])[record.team_id]}

    # --- activities -------------------------------------------------------------------------------

    @rpc
    @requires("caseworker")
    @transactional
    def create_activity(self, activity: dict) -> dict:
        now = self.clock.now()
        data = load(s.ActivityInput(), activity, now=now)
        venue = self._venue(data["venue_id"])
        self._check_team(data["organiser_team_id"])
        row = m.Activity(
            id=new_id(),
            town=venue.town,
            seats_taken=0,
            status=m.SCHEDULED,
            lock_version=0,
            created_by=self.auth.caller.subject,
            created_at=now,
            updated_at=now,
            **data,
        )
        self.db.add(row)
        self.db.flush()
        event = workflow.activity_data(row, venue.name)
        event.update(capacity=row.capacity, moderated=row.moderated, organiser_team_id=row.organiser_team_id)
        self.outbox.add("activity_scheduled", event)
        return self._activity_out(row)

    @rpc
    @requires("caseworker")
    @transactional
    def update_activity(self, activity_id: str, changes: dict) -> dict:
        now = self.clock.now()
        current = self._activity(activity_id)
        if not isinstance(changes, dict) or not changes:
            raise ValidationError({"_schema": ["give at least one field to change"]})
        merged = {**s.ActivityInput().dump(current), **changes}
        clean = load(s.ActivityInput(), merged, now=now, check_future="starts_at" in changes)
        clean = {key: clean[key] for key in changes}
        if "venue_id" in clean:
            clean["town"] = self._venue(clean["venue_id"]).town
        if "organiser_team_id" in clean:
            self._check_team(clean["organiser_team_id"])
        policy = current_policy(self.db, local_date(now))
        row = workflow.update_activity(self.db, self.outbox, activity_id, clean, now, policy.hold_minutes)
        return self._activity_out(row)

    @rpc
    @requires("caseworker")
    @transactional
    def cancel_activity(self, activity_id: str, reason: str | None = None) -> dict:
        data = load(s.CancelActivityInput(), {"reason": reason} if reason is not None else {})
        self._activity(activity_id)
        row = workflow.cancel_activity(self.db, self.outbox, activity_id, data["reason"], self.clock.now())
        return self._activity_out(row)

    @rpc(read_only=True)
    def get_activity(self, activity_id: str) -> dict:
        row = self._activity(activity_id)
        out = self._activity_out(row)
        out["attendance"] = attendance_summary(self.db, row.id)
        return out

    @rpc(read_only=True)
    def list_activities(self, town=None, kind=None, date_from=None, date_to=None, limit=500, offset=0) -> list[dict]:
        args = {"town": town, "kind": kind, "date_from": date_from, "date_to": date_to, "limit": limit}
        data = load(s.ListActivitiesInput(), {**args, "offset": offset})
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
        return self._activities_out(rows) if rows else []

    # --- registration -----------------------------------------------------------------------------

    @rpc
    @requires("resident", "caseworker")
    @transactional
    def register(self, registration: dict) -> dict:
        now = self.clock.now()
        data = load(s.RegisterInput(), registration)
        caller = self.auth.caller
        if data["priority"] and not caller.is_staff:
            raise ValidationError({"priority": ["only staff may set a waitlist priority"]})
        registrant_id = self.pii.resident_id(data["id_number"])
        require_acting_for(caller, registrant_id)
        activity = self._activity(data["activity_id"])
        ensure_open(activity, now)
        policy = current_policy(self.db, local_date(now))
        members, problems = build_party(
            data["id_number"],
            data["children"],
            data["registrant_attends"],
            Audience(activity.min_age, activity.max_age, local_date(activity.starts_at)),
            policy.child_max_age,
            policy.max_party_size,
        )
        if problems:
            raise NotEligible(problems)
        seats = [Seat(self.pii.resident_id(member.id_number), member.is_child, member.age) for member in members]
        row = workflow.register(
            self.db, self.outbox, activity.id, registrant_id, seats, data["priority"], caller.subject, now
        )
        if data["phone"]:
            phone = self.pii.encrypt(normalise_phone(data["phone"]))
            self.outbox.add(
                "contact_provided", {"resident_id": registrant_id, "phone_encrypted": phone, "town": activity.town}
            )
        return self._registration_out(row)

    @rpc
    @requires("resident", "caseworker")
    @transactional
    def cancel_registration(self, registration_id: str) -> dict:
        row = self._registration(registration_id)
        reason = "by_resident" if row.resident_id == self.auth.caller.subject else "by_staff"
        now = self.clock.now()
        policy = current_policy(self.db, local_date(now))
        row = workflow.cancel_registration(self.db, self.outbox, row, reason, now, policy.hold_minutes)
        return self._registration_out(row)

    @rpc
    @requires("resident", "caseworker")
    @transactional
    def accept_offer(self, registration_id: str) -> dict:
        row = workflow.accept_offer(self.db, self.outbox, self._registration(registration_id), self.clock.now())
        return self._registration_out(row)

    @rpc
    @requires("caseworker", "reviewer")
    @transactional
    def review_registration(self, registration_id: str, review: dict) -> dict:
        data = load(s.ReviewInput(), review)
        now = self.clock.now()
        policy = current_policy(self.db, local_date(now))
        row = workflow.review(
            self.db,
            self.outbox,
            self._registration(registration_id),
            data["decision"] == "approve",
            data["reason"],
            self.auth.caller.subject,
            now,
            policy.hold_minutes,
        )
        return self._registration_out(row)

    @rpc(read_only=True)
    @requires("resident", "caseworker", "reviewer")
    def get_registration(self, registration_id: str) -> dict:
        return self._registration_out(self._registration(registration_id))

    @rpc(read_only=True)
    @requires("resident", "caseworker", "reviewer")
    def list_registrations(self, activity_id=None, status=None, limit=500, offset=0) -> list[dict]:
        args = {"activity_id": activity_id, "status": status, "limit": limit, "offset": offset}
        data = load(s.ListRegistrationsInput(), args)
        query = select(m.Registration).order_by(m.Registration.created_at, m.Registration.queue_seq, m.Registration.id)
        if not self.auth.caller.is_staff:
            query = query.where(m.Registration.resident_id == self.auth.caller.subject)
        if data["activity_id"]:
            query = query.where(m.Registration.activity_id == data["activity_id"])
        if data["status"]:
            query = query.where(m.Registration.status == data["status"])
        rows = self.db.scalars(query.limit(data["limit"]).offset(data["offset"])).all()
        return self._registrations_out(rows)

    # --- attendance -------------------------------------------------------------------------------

    @rpc
    @requires("caseworker", "service")
    @transactional
    def check_in(self, activity_id: str, attendee: dict) -> dict:
        return self._attendance(check_in, activity_id, attendee)

    @rpc
    @requires("caseworker", "service")
    @transactional
    def check_out(self, activity_id: str, attendee: dict) -> dict:
        return self._attendance(check_out, activity_id, attendee)

    # --- timers -----------------------------------------------------------------------------------

    @timer("HOLD_SWEEP_SECONDS", 30)
    def expire_holds(self) -> int:
        now = self.clock.now()
        hold_minutes = current_policy(self.db, local_date(now)).hold_minutes
        return self._each_activity(
            activities_with_expired_holds(self.db, now),
            lambda activity_id: expire_holds(self.db, self.outbox, activity_id, now, hold_minutes),
        )

    @timer("REMINDER_SWEEP_SECONDS", 60)
    def send_reminders(self) -> int:
        now = self.clock.now()
        lead = current_policy(self.db, local_date(now)).reminder_lead_hours
        return self._each_activity(
            activities_due(self.db, now, lead),
            lambda activity_id: send_reminders(self.db, self.outbox, activity_id, now),
        )

    @timer("CLOSE_SWEEP_SECONDS", 300)
    def close_ended_activities(self) -> int:
        now = self.clock.now()
        return self._each_activity(
            ended_activities(self.db, now),
            lambda activity_id: 1 if close_activity(self.db, self.outbox, activity_id, now) else 0,
        )

    def refresh_gauges(self) -> None:
        counts = dict(
            self.db.execute(
                select(m.Registration.status, func.count())
                .join(m.Activity, m.Activity.id == m.Registration.activity_id)
                .where(m.Activity.status == m.SCHEDULED)
                .group_by(m.Registration.status)
            ).all()
        )
        self.db.rollback()
        for status in m.ACTIVE:
            REGISTRATIONS_BY_STATUS.labels(status).set(counts.get(status, 0))

    # --- helpers ----------------------------------------------------------------------------------

    def _each_activity(self, activity_ids: list[str], step) -> int:
        """One transaction per activity, so one bad activity never blocks the others."""
        self.db.rollback()  # end the read that listed them before the first write
        done = 0
        for activity_id in activity_ids:
            try:
                done += step(activity_id) or 0
                self.db.commit()
            except Exception:
                self.db.rollback()
                log.exception("timer step failed for activity %s", activity_id)
        return done

    def _attendance(self, action, activity_id: str, attendee: dict) -> dict:
        data = load(s.AttendeeInput(), attendee)
        self._activity(activity_id)
        now = self.clock.now()
        policy = current_policy(self.db, local_date(now))
        resident_id = self.pii.resident_id(data["id_number"]) if data["id_number"] else None
        row = action(
            self.db,
            self.outbox,
            activity_id,
            resident_id,
            data["participant_id"],
            self.auth.caller.subject,
            now,
            policy.check_in_opens_minutes,
        )
        return {
            "attendance_id": row.id,
            "participant_id": row.participant_id,
            "day": row.day.isoformat(),
            "checked_in_at": row.checked_in_at.isoformat(),
            "checked_out_at": row.checked_out_at.isoformat() if row.checked_out_at else None,
        }

    def _activity(self, activity_id) -> m.Activity:
        row = self.db.get(m.Activity, activity_id) if s.is_id(activity_id) else None
        if row is None:
            raise ActivityNotFound("no such activity")
        return row

    def _venue(self, venue_id: str) -> m.Venue:
        row = self.db.get(m.Venue, venue_id)
        if row is None:
            raise VenueNotFound(venue_id)
        return row

    def _check_team(self, team_id: str | None) -> None:
        if team_id is not None and self.db.get(m.VolunteerTeam, team_id) is None:
            raise TeamNotFound(team_id)

    def _registration(self, registration_id) -> m.Registration:
        row = self.db.get(m.Registration, registration_id) if s.is_id(registration_id) else None
        if row is None:
            raise RegistrationNotFound("no such registration")
        caller = self.auth.caller
        if not caller.is_staff and caller.subject != row.resident_id:
            raise RegistrationNotFound("no such registration")  # a resident does not learn that others' exist
        return row

    def _activity_out(self, row: m.Activity) -> dict:
        return self._activities_out([row])[0]

    def _activities_out(self, rows: list[m.Activity]) -> list[dict]:
        ids = [row.id for row in rows]
        venues = dict(
            self.db.execute(select(m.Venue.id, m.Venue.name).where(m.Venue.id.in_({r.venue_id for r in rows}))).all()
        )
        waitlisted = dict(
            self.db.execute(
                select(m.Registration.activity_id, func.count())
                .where(m.Registration.activity_id.in_(ids), m.Registration.status == m.WAITLISTED)
                .group_by(m.Registration.activity_id)
            ).all()
        )
        return [
            {
                **s.ActivityOut().dump(row),
                "venue_name": venues.get(row.venue_id),
                "waitlisted": waitlisted.get(row.id, 0),
            }
            for row in rows
        ]

    def _registration_out(self, row: m.Registration) -> dict:
        return self._registrations_out([row])[0]

    def _registrations_out(self, rows: list[m.Registration]) -> list[dict]:
        participants: dict[str, list] = {row.id: [] for row in rows}
        if rows:
            for participant in self.db.scalars(
                select(m.Participant)
                .where(m.Participant.registration_id.in_(list(participants)))
                .order_by(m.Participant.is_child, m.Participant.id)
            ).all():
                participants[participant.registration_id].append(participant)
        out = []
        for row in rows:
            item = s.RegistrationOut().dump(row)
            item["participants"] = s.ParticipantOut(many=True).dump(participants[row.id])
            item["waitlist_position"] = waitlist_position(self.db, row)
            out.append(item)
        return out
