"""The housing service's entrypoints: each checks its input, calls one verb of `self.desk` (`desk.Desk`, the
application object of shared/platform/unit_of_work.py) and returns what the verb returns. Under the verbs: `subsidy`,
`recertification` and `disbursement` (the rent subsidy), `tenancy` (保障性租赁住房), `operator_subsidy`
(运营奖补), `appeals` (what the shared appeal mechanism needs), `rules` and `policy`."""

from __future__ import annotations

from services.housing import appeals, disbursement, expiry, recertification, retention
from services.housing.desk import Desk
from services.housing.models import Appeal, Job, OperatorAssessment, SubsidyApplication, Tenancy, TenancyApplication
from services.housing.schemas import (
    LegacySubsidySchema,
    PeriodSchema,
    PlanYearSchema,
    ProjectSchema,
    RecertificationSchema,
    StockPlanSchema,
    SubsidyApplicationSchema,
    TenancyApplicationSchema,
    TenancyRenewalSchema,
    UnitSchema,
)
from services.housing.tenancy import parse_date
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
from shared.platform.validation import load

SUBSIDY_APPLICATION = SubsidyApplicationSchema()  # the busiest input, loaded by one instance (keeps no state)


class HousingService(AppealDesk, PlatformService):
    name = "housing"

    db = Database()
    outbox = Outbox()
    pii = Pii()
    clock = Clock()
    audit = Audit({
        Appeal: AuditedCase("appeal", ("reasons", "statement")),
        SubsidyApplication: AuditedCase(
            "subsidy_application", ("review_note", "appeal_note", "end_reason"), name_fields=("name",)
        ),
        **recertification.AUDITED,
        TenancyApplication: AuditedCase("tenancy_application", name_fields=("name",)),
        Tenancy: AuditedCase("tenancy", ("end_reason",)),
        OperatorAssessment: AuditedCase("operator_subsidy", ("review_note",)),
    })  # fmt: skip
    desk = Application(Desk)
    jobs = JobRunner(Job, {disbursement.JOB: disbursement.KIND, **expiry.KINDS})

    retention_rules = retention.RULES
    appeal_model = Appeal

    def appeal_cases(self) -> appeals.SubsidyAppeals:
        return appeals.SubsidyAppeals(self.desk)

    def case_owner(self, case_type: str, case_id: str) -> str | None:
        model = {
            "subsidy_application": SubsidyApplication,
            "tenancy_application": TenancyApplication,
            "appeal": Appeal,
        }.get(case_type)
        case = self.db.get(model, case_id) if model else None
        return case.owner_subject if case else None

    # --- A. rent subsidy ----------------------------------------------------------------------------

    @rpc
    @requires("caseworker", "resident")
    def submit_subsidy_application(self, application) -> dict:
        data = load(SUBSIDY_APPLICATION, application, field="application")
        return self.desk.submit_subsidy_application(data, self.auth.caller)

    @rpc
    @requires("reviewer")
    def review_subsidy_application(self, application_id, decision, note=None, note_for_resident=False) -> dict:
        return self.desk.review_subsidy_application(application_id, decision, note, note_for_resident, self.auth.caller)

    @rpc
    @requires("admin")
    def import_legacy_subsidy(self, application, decided_on) -> dict:
        """Record a case decided on paper before the platform, approved on `decided_on` (YYYY-MM-DD)."""
        data = load(LegacySubsidySchema(), {"application": application, "decided_on": decided_on}, field="request")
        return self.desk.import_legacy_subsidy(data, self.auth.caller)

    @rpc
    @requires("caseworker", "resident")
    def appeal_subsidy_application(self, application_id, note) -> dict:
        """Deprecated alias of `lodge_appeal("subsidy_application", application_id, note)`."""
        return self._appeals().lodge(self.auth.caller, appeals.SUBSIDY_APPLICATION, application_id, note)

    @rpc(read_only=True)
    @requires("caseworker", "reviewer", "resident")
    def get_subsidy_application(self, application_id) -> dict:
        return self.desk.get_subsidy_application(application_id, self.auth.caller)

    @rpc(read_only=True)
    @requires("caseworker", "reviewer", "resident")
    def list_subsidy_applications(self, status=None, town=None, category=None, page=1, page_size=50) -> dict:
        filters = {"status": status, "town": town, "category": category, "page": page, "page_size": page_size}
        return self.desk.list_subsidy_applications(filters, self.auth.caller)

    @rpc(read_only=True)
    @requires("caseworker", "reviewer")
    def find_subsidy_applications(self, id_number=None, phone=None, page=1, page_size=50) -> dict:
        """Look-up by ID number or phone (exact, through keyed indexes); results show both only masked."""
        return self.desk.find_subsidy_applications(id_number, phone, page, page_size, self.auth.caller)

    @rpc
    @requires("caseworker")
    def recertify_subsidy(self, application_id, changes=None) -> dict:
        data = load(RecertificationSchema(), changes or {}, field="changes")
        return self.desk.recertify_subsidy(application_id, data, self.auth.caller)

    @rpc
    @requires("reviewer")
    def review_subsidy_recertification(self, application_id, decision, note=None) -> dict:
        return self.desk.review_subsidy_recertification(application_id, decision, note, self.auth.caller)

    @rpc
    @requires("caseworker")
    def end_subsidy(self, application_id, reason) -> dict:
        return self.desk.end_subsidy(application_id, reason, self.auth.caller)

    @rpc
    @requires("admin")
    def end_expired_subsidies(self, as_of_period=None) -> dict:
        period = as_of_period or self.desk.current_period()
        load(PeriodSchema(), {"period": period}, field="as_of_period")
        return self.desk.end_expired_subsidies(period, self.auth.caller.subject)

    @timer("EXPIRY_SWEEP_SECONDS", 3600)
    def expire_terms(self) -> None:
        """Subsidies not re-certified and leases not renewed end when their term is over."""
        self.desk.expire_terms()

    @rpc
    @requires("admin")
    def run_disbursement(self, period, backfill=False) -> dict:
        """Start the job paying every active subsidy for `period` once, when due (`pay_periods`); `backfill=True`
        records payments made before go-live (counted, not messaged). Returns the job at once."""
        load(PeriodSchema(), {"period": period, "backfill": backfill}, field="period")
        return self.desk.run_disbursement(period, backfill, self.auth.caller)

    @rpc(read_only=True)
    @requires("caseworker", "reviewer")
    def list_policies(self, programme=None) -> list[dict]:
        return self.desk.list_policies(programme)

    # --- B. 保障性租赁住房 ------------------------------------------------------------------------------

    @rpc
    @requires("caseworker")
    def create_project(self, project) -> dict:
        return self.desk.create_project(load(ProjectSchema(), project, field="project"))

    @rpc
    @requires("admin")
    def record_stock_plan(self, plan) -> dict:
        """The units the Center plans to add to the stock in a year (seed §1: 2025, 3,800), once per year."""
        return self.desk.record_stock_plan(load(StockPlanSchema(), plan, field="plan"), self.auth.caller)

    @rpc
    @requires("admin")
    def publish_operator_subsidy_forecast(self, year) -> dict:
        """Publish the year's operator-subsidy budget forecast from its policy row, once per year."""
        data = load(PlanYearSchema(), {"year": year})
        return self.desk.publish_operator_subsidy_forecast(data["year"], self.auth.caller)

    @rpc(read_only=True)
    @requires("caseworker", "reviewer")
    def list_plans(self) -> list[dict]:
        return self.desk.list_plans()

    @rpc(read_only=True)
    def list_projects(self) -> list[dict]:
        return self.desk.list_projects()

    @rpc
    @requires("caseworker")
    def list_unit(self, project_id, unit) -> dict:
        """List a unit for letting; refused with RentCapExceeded above the cap relative to market rent."""
        return self.desk.list_unit(project_id, load(UnitSchema(), unit, field="unit"))

    @rpc(read_only=True)
    def list_units(self, project_id, status=None) -> list[dict]:
        return self.desk.list_units(project_id, status)

    @rpc(read_only=True)
    def unit_counts_by_year(self) -> list[dict]:
        return self.desk.unit_counts_by_year()

    @rpc
    @requires("caseworker", "resident")
    def submit_tenancy_application(self, application) -> dict:
        data = load(TenancyApplicationSchema(), application, field="application")
        return self.desk.submit_tenancy_application(data, self.auth.caller)

    @rpc(read_only=True)
    @requires("caseworker", "reviewer", "resident")
    def get_tenancy_application(self, application_id) -> dict:
        return self.desk.get_tenancy_application(application_id, self.auth.caller)

    @rpc
    @requires("reviewer")
    def allocate_unit(self, application_id, project_id, unit_id=None, start_date=None) -> dict:
        return self.desk.allocate_unit(application_id, project_id, unit_id, start_date, self.auth.caller)

    @rpc
    @requires("caseworker")
    def end_tenancy(self, tenancy_id, reason) -> dict:
        return self.desk.end_tenancy(tenancy_id, reason)

    @rpc
    @requires("caseworker")
    def renew_tenancy(self, tenancy_id, changes=None) -> dict:
        data = load(TenancyRenewalSchema(), changes or {}, field="changes")
        return self.desk.renew_tenancy(tenancy_id, data)

    @rpc
    @requires("admin")
    def end_expired_tenancies(self, as_of=None) -> dict:
        today = parse_date(as_of, "as_of") if as_of else self.desk.today()
        return self.desk.end_expired_tenancies(today, self.auth.caller.subject)

    # --- C. 运营奖补 ---------------------------------------------------------------------------------

    @rpc
    @requires("caseworker")
    def assess_operator_subsidy(self, project_id, year) -> dict:
        return self.desk.assess_operator_subsidy(project_id, year, self.auth.caller)

    @rpc
    @requires("reviewer")
    def review_operator_subsidy(self, assessment_id, decision, note=None) -> dict:
        return self.desk.review_operator_subsidy(assessment_id, decision, note, self.auth.caller)

    @rpc(read_only=True)
    def operator_subsidy_summary(self, year) -> dict:
        return self.desk.operator_subsidy_summary(year)
