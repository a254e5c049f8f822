"""The insurance service's entrypoints: each calls one verb of `self.desk` (`workflow.Desk`, the application
object of shared/platform/unit_of_work.py) and returns what it returns. Under the verbs: `rules` (eligibility and
contributions), `lifecycle` (states, coverage), `workflow` (the counter's steps and their commits)."""

from services.insurance import gauges, retention
from services.insurance.appeals import ENROLMENT, EnrolmentAppeals, acting_subject
from services.insurance.models import Appeal, Enrolment, Job
from services.insurance.workflow import Desk
from shared.cixi.appeals import AppealDesk
from shared.platform.audit import Audit, AuditedCase
from shared.platform.auth import requires
from shared.platform.clock import Clock
from shared.platform.db import Database
from shared.platform.jobs import JobRunner
from shared.platform.outbox import Outbox
from shared.platform.personal_data_provider import Pii
from shared.platform.rpc import rpc
from shared.platform.service import PlatformService
from shared.platform.timers import timer
from shared.platform.unit_of_work import Application

READERS = ("resident", "caseworker", "reviewer")


class InsuranceService(AppealDesk, PlatformService):
    name = "insurance"

    db = Database()
    outbox = Outbox()
    pii = Pii()
    clock = Clock()
    jobs = JobRunner(Job)
    audit = Audit({
        Enrolment: AuditedCase("enrolment", ("reason",)),
        Appeal: AuditedCase("appeal", ("reasons", "statement")),
    })  # fmt: skip

    desk = Application(Desk)

    appeal_model = Appeal
    retention_rules = retention.RULES

    def appeal_cases(self) -> EnrolmentAppeals:
        return EnrolmentAppeals(self.desk)

    def case_owner(self, case_type: str, case_id: str) -> str | None:
        if case_type == ENROLMENT:
            enrolment = self.db.get(Enrolment, case_id)
            return acting_subject(enrolment) if enrolment else None
        if case_type == "appeal":
            appeal = self.db.get(Appeal, case_id)
            return appeal.owner_subject if appeal else None
        return None

    @rpc
    @requires("caseworker")
    def register_employment(self, registration: dict) -> dict:
        return self.desk.register_employment(registration, self.auth.caller)

    @rpc(read_only=True)
    @requires(*READERS)
    def check_eligibility(self, resident: dict, scheme: str, on: str | None = None) -> dict:
        return self.desk.check_eligibility(resident, scheme, self.auth.caller, on=on)

    @rpc
    @requires("caseworker")
    def enrol_pension(self, enrolment: dict) -> dict:
        return self.desk.enrol_pension(enrolment, self.auth.caller)

    @rpc
    @requires("caseworker")
    def enrol_medical(self, enrolment: dict) -> dict:
        return self.desk.enrol_medical(enrolment, self.auth.caller)

    @rpc(read_only=True)
    @requires(*READERS)
    def get_enrolment(self, enrolment_id: str) -> dict:
        return self.desk.get_enrolment(enrolment_id, self.auth.caller)

    @rpc(read_only=True)
    @requires(*READERS)
    def list_enrolments(self, filters: dict | None = None) -> dict:
        return self.desk.list_enrolments(filters, self.auth.caller)

    @rpc
    @requires("reviewer")
    def activate_enrolment(self, enrolment_id: str) -> dict:
        return self.desk.decide("activate", {"enrolment_id": enrolment_id}, self.auth.caller)

    @rpc
    @requires("reviewer")
    def reject_enrolment(self, enrolment_id: str, reason: str, note=None, note_for_resident=False) -> dict:
        return self._told("reject", enrolment_id, reason, note, note_for_resident)

    @rpc
    @requires("reviewer")
    def suspend_enrolment(self, enrolment_id: str, reason: str, note=None, note_for_resident=False) -> dict:
        return self._told("suspend", enrolment_id, reason, note, note_for_resident)

    @rpc
    @requires("reviewer")
    def resume_enrolment(self, enrolment_id: str) -> dict:
        return self.desk.decide("resume", {"enrolment_id": enrolment_id}, self.auth.caller)

    @rpc
    @requires("reviewer")
    def end_enrolment(self, enrolment_id: str, reason: str, note=None) -> dict:
        return self.desk.decide("end", {"enrolment_id": enrolment_id, "reason": reason, "note": note}, self.auth.caller)

    @rpc
    @requires("caseworker")
    def record_contribution(self, contribution: dict) -> dict:
        """A month of an enterprise pension paid (pension is continuous: it is never renewed)."""
        return self.desk.record_contribution(contribution, self.auth.caller)

    @rpc
    @requires("caseworker")
    def renew_enrolment(self, enrolment_id: str) -> dict:
        return self.desk.decide("renew", {"enrolment_id": enrolment_id}, self.auth.caller)

    @rpc(read_only=True)
    def get_policy(self) -> list[dict]:
        """The policy figures with their effective years and references (public)."""
        return self.desk.policy_table()

    def _told(self, action: str, enrolment_id, reason, note, note_for_resident) -> dict:
        """A decision the resident is told of: a reason code, and the note if the reviewer marks it for them."""
        decision = {
            "enrolment_id": enrolment_id,
            "reason": reason,
            "note": note,
            "note_for_resident": note_for_resident,
        }
        return self.desk.decide(action, decision, self.auth.caller)

    def refresh_gauges(self) -> None:
        gauges.refresh(self.db)

    @timer("RENEWAL_SWEEP_SECONDS", 300)
    def sweep_coverage(self) -> dict:
        """Medical renewal reminders and lapses; pension ends on retirement and suspensions on arrears."""
        return self.desk.sweep()
