"""Registrations and attendance as the RPCs see them: who may act on which registration, the party checked
against the activity's audience, and the seat and waitlist steps (`workflow`, `attendance`) run under the
policy in force."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.events import attendance, workflow
from services.events import models as m
from services.events import schemas as s
from services.events.activities import find_activity
from services.events.exceptions import NotEligible, RegistrationNotFound
from services.events.policy import EventsPolicy, policy_in_force
from services.events.rules import Audience, build_party, local_date
from services.events.views import attendance_out, registration_out, registrations_out
from services.events.workflow import Seat, ensure_open
from shared.platform.auth import Caller, require_acting_for
from shared.platform.personal_data import normalise_phone
from shared.platform.unit_of_work import WorkerDesk, transactional


def find_registration(session: Session, registration_id, caller: Caller) -> m.Registration:
    row = session.get(m.Registration, registration_id) if s.is_id(registration_id) else None
    if row is None or not (caller.is_staff or caller.subject == row.resident_id):
        raise RegistrationNotFound("no such registration")  # a resident does not learn that others' exist
    return row


class RegistrationDesk(WorkerDesk):
    def policy(self, now: datetime) -> EventsPolicy:
        return policy_in_force(self.db, local_date(now))

    @transactional
    def register(self, data: dict, caller: Caller) -> dict:
        now = self.clock.now()
        registrant_id = self.pii.resident_id(data["id_number"])
        require_acting_for(caller, registrant_id)
        activity = find_activity(self.db, data["activity_id"])
        ensure_open(activity, now)
        policy = self.policy(now)
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
            phone = self.pii.encrypt(normalise_phone(data["phone"]), bound_to=registrant_id)
            self.outbox.add(
                "contact_provided", {"resident_id": registrant_id, "phone_encrypted": phone, "town": activity.town}
            )
        return registration_out(self.db, row)

    @transactional
    def cancel_registration(self, registration_id, caller: Caller) -> dict:
        row = find_registration(self.db, registration_id, caller)
        reason = "by_resident" if row.resident_id == caller.subject else "by_staff"
        now = self.clock.now()
        row = workflow.cancel_registration(self.db, self.outbox, row, reason, now, self.policy(now).hold_minutes)
        return registration_out(self.db, row)

    @transactional
    def accept_offer(self, registration_id, caller: Caller) -> dict:
        row = find_registration(self.db, registration_id, caller)
        return registration_out(self.db, workflow.accept_offer(self.db, self.outbox, row, self.clock.now()))

    @transactional
    def review_registration(self, registration_id, data: dict, caller: Caller) -> dict:
        now = self.clock.now()
        hold_minutes = self.policy(now).hold_minutes
        row = workflow.review(
            self.db,
            self.outbox,
            find_registration(self.db, registration_id, caller),
            data["decision"] == "approve",
            data["reason"],
            caller.subject,
            now,
            hold_minutes,
        )
        return registration_out(self.db, row)

    def get_registration(self, registration_id, caller: Caller) -> dict:
        return registration_out(self.db, find_registration(self.db, registration_id, caller))

    def list_registrations(self, data: dict, caller: Caller) -> list[dict]:
        query = select(m.Registration).order_by(m.Registration.created_at, m.Registration.queue_seq, m.Registration.id)
        if not caller.is_staff:
            query = query.where(m.Registration.resident_id == caller.subject)
        if data["activity_id"]:
            query = query.where(m.Registration.activity_id == data["activity_id"])
        if data["status"]:
            query = query.where(m.Registration.status == data["status"])
        rows = self.db.scalars(query.limit(data["limit"]).offset(data["offset"])).all()
        return registrations_out(self.db, rows)

    @transactional
    def check_in(self, activity_id: str, data: dict, caller: Caller) -> dict:
        return self._attendance(attendance.check_in, activity_id, data, caller)

    @transactional
    def check_out(self, activity_id: str, data: dict, caller: Caller) -> dict:
        return self._attendance(attendance.check_out, activity_id, data, caller)

    def _attendance(self, action, activity_id: str, data: dict, caller: Caller) -> dict:
        find_activity(self.db, activity_id)
        now = self.clock.now()
        opens_minutes = self.policy(now).check_in_opens_minutes
        resident_id = self.pii.resident_id(data["id_number"]) if data["id_number"] else None
        row = action(
            self.db, self.outbox, activity_id, resident_id, data["participant_id"], caller.subject, now, opens_minutes
        )
        return attendance_out(row)
