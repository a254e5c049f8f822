"""The housing service's entrypoints. Logic longer than a few lines lives in plain modules beside it."""

from __future__ import annotations

from nameko.timer import timer

from services.housing import (
    appeals,
    disbursement,
    operator_subsidy,
    recertification,
    retention,
    rules,
    subsidy,
    tenancy,
)
from services.housing.cases import today_local
from services.housing.models import Appeal, OperatorAssessment, SubsidyApplication, Tenancy, TenancyApplication
from services.housing.pay_periods import PaySchedule
from services.housing.policy import policies_listed
from services.housing.schemas import (
    LegacySubsidySchema,
    PeriodSchema,
    ProjectSchema,
    RecertificationSchema,
    SubsidyApplicationSchema,
    TenancyApplicationSchema,
    TenancyRenewalSchema,
    UnitSchema,
)
from shared.appeals import AppealDesk
from shared.audit import Audit, AuditedCase
from shared.auth import requires
from shared.clock import Clock
from shared.db import Database
from shared.outbox import Outbox
from shared.privacy import Pii
from shared.rpc import rpc
from shared.service import PlatformService
from shared.validation import load

EXPIRY_SWEEP_SECONDS = 3600
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

    retention_rules = retention.RULES
    appeal_model = Appeal

    def appeal_cases(self) -> appeals.SubsidyAppeals:
        return appeals.SubsidyAppeals(self.db, self.outbox)

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
        return subsidy.submit(self.db, self.outbox, self.pii, self.auth.caller, data)

    @rpc
    @requires("reviewer")
    def review_subsidy_application(self, application_id, decision, note=None, note_for_resident=False) -> dict:
        return subsidy.review(self.db, self.outbox, self.auth.caller, application_id, decision, note, note_for_resident)

    @rpc
    @requires("admin")
    def import_legacy_subsidy(self, application, decided_on) -> dict:
        """Record a case decided on paper before the platform, approved on `decided_on` (YYYY-MM-DD)."""
        data = load(LegacySubsidySchema(), {"application": application, "decided_on": decided_on}, field="request")
        go_live = PaySchedule.from_config(self.config).go_live
        return subsidy.import_legacy(self.db, self.outbox, self.pii, self.auth.caller, data, go_live)

    @rpc
    @requires("caseworker", "resident")
    def appeal_subsidy_application(self, application_id, note) -> dict:
        """Deprecated alias of `lodge_appeal("subsidy_application", application_id, note)`."""
        return self._appeals().lodge(self.auth.caller, appeals.SUBSIDY_APPLICATION, application_id, note)

    @rpc(read_only=True)
    @requires("caseworker", "reviewer", "resident")
    def get_subsidy_application(self, application_id) -> dict:
        return subsidy.get(self.db, self.auth.caller, application_id)

    @rpc(read_only=True)
    @requires("caseworker", "reviewer", "resident")
    def list_subsidy_applications(self, status=None, town=None, category=None, page=1, page_size=50) -> dict:
        return subsidy.list_applications(self.db, self.auth.caller, status, town, category, page, page_size)

    @rpc(read_only=True)
    @requires("caseworker", "reviewer")
    def find_subsidy_applications(self, id_number=None, phone=None, page=1, page_size=50) -> dict:
        """Look-up by ID number or phone (exact, through keyed indexes); results show both only masked."""
        return subsidy.list_applications(
            self.db,
            self.auth.caller,
            page=page,
            page_size=page_size,
            **subsidy.lookup_index(self.pii, id_number, phone),
        )

    @rpc
    @requires("caseworker")
    def recertify_subsidy(self, application_id, changes=None) -> dict:
        data = load(RecertificationSchema(), changes or {}, field="changes")
        return recertification.propose(self.db, self.outbox, self.pii, self.auth.caller, application_id, data)

    @rpc
    @requires("reviewer")
    def review_subsidy_recertification(self, application_id, decision, note=None) -> dict:
        return recertification.review(
            self.db, self.outbox, self.audit, self.auth.caller, application_id, decision, note
        )

    @rpc
    @requires("caseworker")
    def end_subsidy(self, application_id, reason) -> dict:
        return subsidy.end_by_caseworker(self.db, self.outbox, self.auth.caller, application_id, reason)

    @rpc
    @requires("admin")
    def end_expired_subsidies(self, as_of_period=None) -> dict:
        period = as_of_period or rules.period_of(today_local())
        load(PeriodSchema(), {"period": period}, field="as_of_period")
        return {"as_of_period": period, "ended": subsidy.end_expired(self.db, self.outbox, period)}

    @timer(interval=EXPIRY_SWEEP_SECONDS)
    def expire_terms(self) -> None:
        """Subsidies not re-certified and leases not renewed end when their term is over."""
        today = today_local()
        subsidy.end_expired(self.db, self.outbox, rules.period_of(today))
        tenancy.end_expired_tenancies(self.db, self.outbox, today)

    @rpc
    @requires("admin")
    def run_disbursement(self, period, backfill=False) -> dict:
        """Pay every active subsidy for `period` once, when it is due (`pay_periods`). `backfill=True`
        records payments made before the platform went live (counted, not messaged)."""
        load(PeriodSchema(), {"period": period, "backfill": backfill}, field="period")
        PaySchedule.from_config(self.config).check(period, backfill, today_local(self.clock.now()))
        return disbursement.run(self.db, self.outbox, period, backfill=backfill).as_dict()

    @rpc(read_only=True)
    @requires("caseworker", "reviewer")
    def list_policies(self, programme=None) -> list[dict]:
        return policies_listed(self.db, programme)

    # --- B. 保障性租赁住房 ------------------------------------------------------------------------------

    @rpc
    @requires("caseworker")
    def create_project(self, project) -> dict:
        return tenancy.create_project(self.db, load(ProjectSchema(), project, field="project"))

    @rpc(read_only=True)
    def list_projects(self) -> list[dict]:
        return [tenancy.project_dict(project) for project in tenancy.list_projects(self.db)]

    @rpc
    @requires("caseworker")
    def list_unit(self, project_id, unit) -> dict:
        """List a unit for letting; refused with RentCapExceeded above the cap relative to market rent."""
        return tenancy.list_unit(self.db, project_id, load(UnitSchema(), unit, field="unit"))

    @rpc(read_only=True)
    def list_units(self, project_id, status=None) -> list[dict]:
        return [tenancy.unit_dict(unit) for unit in tenancy.list_units(self.db, project_id, status)]

    @rpc(read_only=True)
    def unit_counts_by_year(self) -> list[dict]:
        return tenancy.unit_counts_by_year(self.db)

    @rpc
    @requires("caseworker", "resident")
    def submit_tenancy_application(self, application) -> dict:
        data = load(TenancyApplicationSchema(), application, field="application")
        return tenancy.submit_application(self.db, self.outbox, self.pii, self.auth.caller, data)

    @rpc(read_only=True)
    @requires("caseworker", "reviewer", "resident")
    def get_tenancy_application(self, application_id) -> dict:
        return tenancy.get_application(self.db, self.auth.caller, application_id)

    @rpc
    @requires("reviewer")
    def allocate_unit(self, application_id, project_id, unit_id=None, start_date=None) -> dict:
        return tenancy.allocate(self.db, self.outbox, self.auth.caller, application_id, project_id, unit_id, start_date)

    @rpc
    @requires("caseworker")
    def end_tenancy(self, tenancy_id, reason) -> dict:
        return tenancy.end_tenancy(self.db, self.outbox, tenancy_id, reason)

    @rpc
    @requires("caseworker")
    def renew_tenancy(self, tenancy_id, changes=None) -> dict:
        data = load(TenancyRenewalSchema(), changes or {}, field="changes")
        return tenancy.renew_tenancy(self.db, self.outbox, self.pii, tenancy_id, data)

    @rpc
    @requires("admin")
    def end_expired_tenancies(self, as_of=None) -> dict:
        today = tenancy.parse_date(as_of, "as_of") if as_of else today_local()
        return {"as_of": today.isoformat(), "ended": tenancy.end_expired_tenancies(self.db, self.outbox, today)}

    # --- C. 运营奖补 ---------------------------------------------------------------------------------

    @rpc
    @requires("caseworker")
    def assess_operator_subsidy(self, project_id, year) -> dict:
        return operator_subsidy.assess(self.db, self.auth.caller, project_id, year)

    @rpc
    @requires("reviewer")
    def review_operator_subsidy(self, assessment_id, decision, note=None) -> dict:
        return operator_subsidy.review(
            self.db, self.outbox, self.audit, self.auth.caller, assessment_id, decision, note
        )

    @rpc(read_only=True)
    def operator_subsidy_summary(self, year) -> dict:
        return operator_subsidy.summary(self.db, year)
