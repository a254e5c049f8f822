"""The housing service's application object: `self.desk` in a worker (see shared/platform/unit_of_work.py).

Each verb reads the service clock once (`self.clock.now()`) and hands that moment to the domain modules
(`subsidy`, `recertification`, `tenancy`, `operator_subsidy`, `disbursement`), which never read a clock of
their own and never commit. A verb that writes is `@transactional`. The disbursement and the expiry sweeps
are jobs (shared/platform/jobs.py): the verb starts one, and the service's job runner does the work a page per
transaction (`disbursement.chunk`, `expiry.KINDS`).
"""

from __future__ import annotations

from services.housing import disbursement, expiry, operator_subsidy, plans, recertification, rules, subsidy, tenancy
from services.housing.pay_periods import PaySchedule
from services.housing.policy import policies_listed
from shared.platform.auth import Caller
from shared.platform.clock import local_date
from shared.platform.unit_of_work import WorkerDesk, transactional

EXPIRY_SWEEP = "system:expiry_sweep"  # who started a sweep the hourly timer started


class Desk(WorkerDesk):
    @property
    def audit(self):
        return self.worker.audit

    @property
    def schedule(self) -> PaySchedule:
        return PaySchedule.from_config(self.worker.config)

    def today(self):
        return local_date(self.clock.now())

    # --- A. rent subsidy ------------------------------------------------------------------------------

    @transactional
    def submit_subsidy_application(self, data: dict, caller: Caller) -> dict:
        return subsidy.submit(self.db, self.outbox, self.pii, caller, data, self.clock.now())

    @transactional
    def review_subsidy_application(self, application_id, decision, note, note_for_resident, caller: Caller) -> dict:
        now = self.clock.now()
        return subsidy.review(self.db, self.outbox, caller, application_id, decision, note, note_for_resident, now)

    @transactional
    def import_legacy_subsidy(self, request: dict, caller: Caller) -> dict:
        go_live = self.schedule.go_live
        return subsidy.import_legacy(self.db, self.outbox, self.pii, caller, request, go_live, self.clock.now())

    def get_subsidy_application(self, application_id, caller: Caller) -> dict:
        return subsidy.get(self.db, caller, application_id)

    def list_subsidy_applications(self, filters: dict, caller: Caller) -> dict:
        return subsidy.list_applications(self.db, caller, **filters)

    def find_subsidy_applications(self, id_number, phone, page, page_size, caller: Caller) -> dict:
        index = subsidy.lookup_index(self.pii, id_number, phone)
        return subsidy.list_applications(self.db, caller, page=page, page_size=page_size, **index)

    @transactional
    def recertify_subsidy(self, application_id, changes: dict, caller: Caller) -> dict:
        now = self.clock.now()
        return recertification.propose(self.db, self.outbox, self.pii, caller, application_id, changes, now)

    @transactional
    def review_subsidy_recertification(self, application_id, decision, note, caller: Caller) -> dict:
        now = self.clock.now()
        return recertification.review(self.db, self.outbox, self.audit, caller, application_id, decision, note, now)

    @transactional
    def end_subsidy(self, application_id, reason, caller: Caller) -> dict:
        return subsidy.end_by_caseworker(self.db, self.outbox, caller, application_id, reason, self.clock.now())

    def end_expired_subsidies(self, as_of_period: str, by: str) -> dict:
        """Start the sweep of subsidies over before `as_of_period` (or return the one running for it)."""
        key, params = expiry.subsidies_params(as_of_period)
        return self.worker.jobs.start_job(self.db, expiry.SUBSIDIES, key, params, by)

    def current_period(self) -> str:
        return rules.period_of(self.today())

    def expire_terms(self) -> None:
        """Subsidies not re-certified and leases not renewed end when their term is over: a sweep is started
        for each that has a case due."""
        today = self.today()
        for kind, (key, params) in (
            (expiry.SUBSIDIES, expiry.subsidies_params(rules.period_of(today))),
            (expiry.TENANCIES, expiry.tenancies_params(today)),
        ):
            if expiry.any_due(self.db, kind, params):
                self.worker.jobs.start_job(self.db, kind, key, params, EXPIRY_SWEEP)

    def run_disbursement(self, period: str, backfill: bool, caller: Caller) -> dict:
        """Start the period's disbursement job (or return the one running for it): the runner pays it."""
        self.schedule.check(period, backfill, self.today())
        key = f"{period}:backfill" if backfill else period
        params = {"period": period, "backfill": backfill}
        return self.worker.jobs.start_job(self.db, disbursement.JOB, key, params, caller.subject)

    def list_policies(self, programme) -> list[dict]:
        return policies_listed(self.db, programme)

    # --- B. 保障性租赁住房 --------------------------------------------------------------------------------

    @transactional
    def create_project(self, data: dict) -> dict:
        return tenancy.create_project(self.db, self.outbox, data, self.clock.now())

    @transactional
    def record_stock_plan(self, data: dict, caller: Caller) -> dict:
        return plans.record_stock_plan(self.db, self.outbox, self.audit, data, caller.subject, self.clock.now())

    @transactional
    def publish_operator_subsidy_forecast(self, year: int, caller: Caller) -> dict:
        now = self.clock.now()
        return plans.publish_operator_forecast(self.db, self.outbox, self.audit, year, caller.subject, now)

    def list_plans(self) -> list[dict]:
        return plans.list_plans(self.db)

    def list_projects(self) -> list[dict]:
        return [tenancy.project_dict(project) for project in tenancy.list_projects(self.db)]

    @transactional
    def list_unit(self, project_id, data: dict) -> dict:
        return tenancy.list_unit(self.db, project_id, data, self.clock.now())

    def list_units(self, project_id, status) -> list[dict]:
        return [tenancy.unit_dict(unit) for unit in tenancy.list_units(self.db, project_id, status)]

    def unit_counts_by_year(self) -> list[dict]:
        return tenancy.unit_counts_by_year(self.db)

    @transactional
    def submit_tenancy_application(self, data: dict, caller: Caller) -> dict:
        return tenancy.submit_application(self.db, self.pii, caller, data, self.clock.now())

    def get_tenancy_application(self, application_id, caller: Caller) -> dict:
        return tenancy.get_application(self.db, caller, application_id)

    @transactional
    def allocate_unit(self, application_id, project_id, unit_id, start_date, caller: Caller) -> dict:
        now = self.clock.now()
        return tenancy.allocate(self.db, self.outbox, caller, application_id, project_id, unit_id, start_date, now)

    @transactional
    def end_tenancy(self, tenancy_id, reason) -> dict:
        return tenancy.end_tenancy(self.db, self.outbox, tenancy_id, reason, self.clock.now())

    @transactional
    def renew_tenancy(self, tenancy_id, changes: dict) -> dict:
        return tenancy.renew_tenancy(self.db, self.outbox, self.pii, tenancy_id, changes, self.clock.now())

    def end_expired_tenancies(self, as_of, by: str) -> dict:
        """Start the sweep of leases over before `as_of` (or return the one running for it)."""
        key, params = expiry.tenancies_params(as_of)
        return self.worker.jobs.start_job(self.db, expiry.TENANCIES, key, params, by)

    # --- C. 运营奖补 -----------------------------------------------------------------------------------

    @transactional
    def assess_operator_subsidy(self, project_id, year, caller: Caller) -> dict:
        return operator_subsidy.assess(self.db, caller, project_id, year, self.clock.now())

    @transactional
    def review_operator_subsidy(self, assessment_id, decision, note, caller: Caller) -> dict:
        now = self.clock.now()
        return operator_subsidy.review(self.db, self.outbox, self.audit, caller, assessment_id, decision, note, now)

    def operator_subsidy_summary(self, year) -> dict:
        return operator_subsidy.summary(self.db, year)
