"""The events service's application object: `self.desk` in a worker (see shared/platform/unit_of_work.py). Its verbs
come from the modules named for what they hold; the sweeps the timers run are here."""

from __future__ import annotations

from services.events import attendance, reminders, workflow
from services.events.activities import ActivityDesk
from services.events.records import RecordDesk
from services.events.registrations import RegistrationDesk
from services.events.volunteers import TeamDesk
from shared.platform.unit_of_work import one_transaction_each


class Desk(ActivityDesk, TeamDesk, RegistrationDesk, RecordDesk):
    def expire_holds(self) -> int:
        now = self.clock.now()
        hold_minutes = self.policy(now).hold_minutes
        return one_transaction_each(
            self.db,
            workflow.activities_with_expired_holds(self.db, now),
            lambda activity_id: workflow.expire_holds(self.db, self.outbox, activity_id, now, hold_minutes),
            "activity",
        )

    def send_reminders(self) -> int:
        now = self.clock.now()
        lead = self.policy(now).reminder_lead_hours
        return one_transaction_each(
            self.db,
            reminders.activities_due(self.db, now, lead),
            lambda activity_id: reminders.send_reminders(self.db, self.outbox, activity_id, now),
            "activity",
        )

    def close_ended_activities(self) -> int:
        now = self.clock.now()
        return one_transaction_each(
            self.db,
            attendance.ended_activities(self.db, now),
            lambda activity_id: 1 if attendance.close_activity(self.db, self.outbox, activity_id, now) else 0,
            "activity",
        )
