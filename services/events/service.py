"""The events service's entrypoints: each checks its input, calls one verb of `self.desk` (`desk.Desk`) and
returns what the verb returns. The verbs live in modules named for what they hold: `activities` (venues,
activities), `volunteers` (teams, service hours), `registrations` (registration, attendance), `views` (what
the RPCs return); the steps under them in `workflow` (seats, waitlist, holds, moderation, cancellation),
`attendance`, `reminders` and `rules`."""

from __future__ import annotations

from services.events import gauges, retention
from services.events import models as m
from services.events import schemas as s
from services.events.desk import Desk
from services.events.rules import local_date
from shared.platform.audit import Audit, AuditedCase
from shared.platform.auth import requires
from shared.platform.clock import Clock
from shared.platform.db import Database
from shared.platform.errors import ValidationError
from shared.platform.jobs import JobRunner
from shared.platform.outbox import Outbox
from shared.platform.personal_data_provider import Pii
from shared.platform.rpc import rpc
from shared.platform.service import PlatformService
from shared.platform.timers import timer
from shared.platform.unit_of_work import Application
from shared.platform.validation import load


class EventsService(PlatformService):
    name = "events"

    db = Database()
    outbox = Outbox()
    pii = Pii()
    clock = Clock()
    jobs = JobRunner(m.Job)
    desk = Application(Desk)
    audit = Audit({m.Registration: AuditedCase("registration", ("decision_reason", "cancel_reason"))})
    retention_rules = retention.RULES

    def case_owner(self, case_type: str, case_id: str) -> str | None:
        row = self.db.get(m.Registration, case_id) if case_type == "registration" else None
        return row.resident_id if row else None

    # --- venues and volunteer teams ---------------------------------------------------------------

    @rpc
    @requires("caseworker")
    def create_venue(self, venue: dict) -> dict:
        return self.desk.create_venue(load(s.VenueInput(), venue, today=local_date(self.clock.now())))

    @rpc(read_only=True)
    def list_venues(self, town: str | None = None, kind: str | None = None) -> list[dict]:
        return self.desk.list_venues(town, kind)

    @rpc
    @requires("caseworker")
    def create_volunteer_team(self, team: dict) -> dict:
        return self.desk.create_volunteer_team(load(s.TeamInput(), team))

    @rpc(read_only=True)
    def list_volunteer_teams(self, town: str | None = None) -> list[dict]:
        return self.desk.list_volunteer_teams(town)

    @rpc
    @requires("caseworker")
    def record_service_hours(self, service: dict) -> dict:
        now = self.clock.now()
        data = load(s.ServiceHoursInput(), service, today=local_date(now))
        return self.desk.record_service_hours(data, self.auth.caller.subject, now)

    # --- activities -------------------------------------------------------------------------------

    @rpc
    @requires("caseworker")
    def create_activity(self, activity: dict) -> dict:
        now = self.clock.now()
        return self.desk.create_activity(load(s.ActivityInput(), activity, now=now), self.auth.caller, now)

    @rpc
    @requires("caseworker")
    def update_activity(self, activity_id: str, changes: dict) -> dict:
        return self.desk.update_activity(activity_id, changes, self.clock.now())

    @rpc
    @requires("caseworker")
    def cancel_activity(self, activity_id: str, reason: str | None = None) -> dict:
        data = load(s.CancelActivityInput(), {"reason": reason} if reason is not None else {})
        return self.desk.cancel_activity(activity_id, data["reason"])

    @rpc(read_only=True)
    def get_activity(self, activity_id: str) -> dict:
        return self.desk.get_activity(activity_id)

    @rpc(read_only=True)
    def list_activities(self, town=None, kind=None, date_from=None, date_to=None, limit=500, offset=0) -> list[dict]:
        args = {"town": town, "kind": kind, "date_from": date_from, "date_to": date_to, "limit": limit}
        return self.desk.list_activities(load(s.ListActivitiesInput(), {**args, "offset": offset}))

    # --- what the Center counts after the fact (records.py) ----------------------------------------

    @rpc
    @requires("admin")
    def import_past_season(self, season: dict) -> dict:
        """Back-entry of activities held before today, counted by heads (like housing's legacy import)."""
        data = load(s.PastSeasonInput(), season, today=local_date(self.clock.now()))
        return self.desk.import_past_season(data, self.auth.caller.subject)

    @rpc
    @requires("caseworker")
    def record_open_event(self, event: dict) -> dict:
        """An open event without registration (the 4.20 harmony day), held today or earlier, with its headcount."""
        data = load(s.HeldActivityInput(), event, today=local_date(self.clock.now()))
        return self.desk.record_open_event(data, self.auth.caller.subject)

    @rpc
    @requires("caseworker")
    def record_care_visit(self, visit: dict) -> dict:
        data = load(s.CareVisitInput(), visit, today=local_date(self.clock.now()))
        return self.desk.record_care_visit(data, self.auth.caller.subject)

    @rpc
    @requires("caseworker")
    def record_training(self, training: dict) -> dict:
        data = load(s.TrainingInput(), training, today=local_date(self.clock.now()))
        return self.desk.record_training(data, self.auth.caller.subject)

    @rpc
    @requires("caseworker")
    def record_publication(self, publication: dict) -> dict:
        data = load(s.PublicationInput(), publication, today=local_date(self.clock.now()))
        return self.desk.record_publication(data, self.auth.caller.subject)

    @rpc
    @requires("caseworker")
    def record_distribution(self, distribution: dict) -> dict:
        data = load(s.DistributionInput(), distribution, today=local_date(self.clock.now()))
        return self.desk.record_distribution(data, self.auth.caller.subject)

    @rpc
    @requires("admin")
    def record_follower_count(self, count: dict) -> dict:
        """The followers of the Center's account as of a day (a snapshot read off the account's back office)."""
        data = load(s.FollowerCountInput(), count, today=local_date(self.clock.now()))
        return self.desk.record_follower_count(data, self.auth.caller.subject)

    @rpc(read_only=True)
    @requires("caseworker", "reviewer")
    def list_publications(self) -> list[dict]:
        return self.desk.list_publications()

    @rpc(read_only=True)
    @requires("caseworker", "reviewer")
    def counted_records(self) -> dict:
        return self.desk.counted_records()

    # --- registration -----------------------------------------------------------------------------

    @rpc
    @requires("resident", "caseworker")
    def register(self, registration: dict) -> dict:
        data = load(s.RegisterInput(), registration)
        if data["priority"] and not self.auth.caller.is_staff:
            raise ValidationError({"priority": ["only staff may set a waitlist priority"]})
        return self.desk.register(data, self.auth.caller)

    @rpc
    @requires("resident", "caseworker")
    def cancel_registration(self, registration_id: str) -> dict:
        return self.desk.cancel_registration(registration_id, self.auth.caller)

    @rpc
    @requires("resident", "caseworker")
    def accept_offer(self, registration_id: str) -> dict:
        return self.desk.accept_offer(registration_id, self.auth.caller)

    @rpc
    @requires("caseworker", "reviewer")
    def review_registration(self, registration_id: str, review: dict) -> dict:
        return self.desk.review_registration(registration_id, load(s.ReviewInput(), review), self.auth.caller)

    @rpc(read_only=True)
    @requires("resident", "caseworker", "reviewer")
    def get_registration(self, registration_id: str) -> dict:
        return self.desk.get_registration(registration_id, self.auth.caller)

    @rpc(read_only=True)
    @requires("resident", "caseworker", "reviewer")
    def list_registrations(self, activity_id=None, status=None, limit=500, offset=0) -> list[dict]:
        args = {"activity_id": activity_id, "status": status, "limit": limit, "offset": offset}
        return self.desk.list_registrations(load(s.ListRegistrationsInput(), args), self.auth.caller)

    # --- attendance -------------------------------------------------------------------------------

    @rpc
    @requires("caseworker", "service")
    def check_in(self, activity_id: str, attendee: dict) -> dict:
        return self.desk.check_in(activity_id, load(s.AttendeeInput(), attendee), self.auth.caller)

    @rpc
    @requires("caseworker", "service")
    def check_out(self, activity_id: str, attendee: dict) -> dict:
        return self.desk.check_out(activity_id, load(s.AttendeeInput(), attendee), self.auth.caller)

    # --- timers -----------------------------------------------------------------------------------

    @timer("HOLD_SWEEP_SECONDS", 30)
    def expire_holds(self) -> int:
        return self.desk.expire_holds()

    @timer("REMINDER_SWEEP_SECONDS", 60)
    def send_reminders(self) -> int:
        return self.desk.send_reminders()

    @timer("CLOSE_SWEEP_SECONDS", 300)
    def close_ended_activities(self) -> int:
        return self.desk.close_ended_activities()

    def refresh_gauges(self) -> None:
        gauges.refresh(self.db)
