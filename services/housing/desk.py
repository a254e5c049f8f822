"""The housing service's application object: `self.desk` in a worker (see shared/platform/unit_of_work.py).

Each verb reads the service clock once (`self.clock.now()`) and hands that moment to the domain modules
(`subsidy`, `recertification`, `tenancy`, `operator_subsidy`, `disbursement`), which never read a clock of
their own and never commit. A verb that writes is `@transactional`. Two write many cases and commit as they
go, each for a documented reason: the expiry sweeps (a page of cases per transaction, `_end_in_pages`) and
the disbursement run (a batch of payments per transaction, `disbursement.py`).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.housing import disbursement, operator_subsidy, plans, recertification, rules, subsidy, tenancy
from services.housing.pay_periods import PaySchedule
from services.housing.policy import policies_listed
from shared.platform.auth import Caller
from shared.platform.clock import local_date
from shared.platform.unit_of_work import WorkerDesk, transactional

EXPIRY_PAGE = 500


def _end_in_pages(session: Session, query, end_one, clock, page: int = EXPIRY_PAGE) -> int:
    """End every case `query` selects, a page per transaction, so a sweep over many cases never holds one
    long write transaction; `end_one(case, now)` moves one case on. Each ended case leaves the query's
    result, so the next page starts from the top again."""
    ended = 0
    while True:
        cases = session.scalars(query.limit(page)).all()
        if not cases:
            session.rollback()  # end the read
            return ended
        try:
            now = clock.now()
            for case in cases:
                end_one(case, now)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        ended += len(cases)


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

    def end_expired_subsidies(self, as_of_period: str) -> int:
        def end_one(application, now):
            subsidy.end(self.db, self.outbox, application, "term_expired", now)

        return _end_in_pages(self.db, subsidy.expired(as_of_period), end_one, self.clock)

    def current_period(self) -> str:
        return rules.period_of(self.today())

    def expire_terms(self) -> None:
        """Subsidies not re-certified and leases not renewed end when their term is over."""
        today = self.today()
        self.end_expired_subsidies(rules.period_of(today))
        self.end_expired_tenancies(today)

    def run_disbursement(self, period: str, backfill: bool) -> dict:
        self.schedule.check(period, backfill, self.today())
        return disbursement.run(self.db, self.outbox, self.clock, period, backfill=backfill).as_dict()

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

    def end_expired_tenancies(self, today) -> int:
        def end_one(lease, now):
            tenancy.end_lease(self.db, self.outbox, lease, "lease_expired", now)

        return _end_in_pages(self.db, tenancy.expired(today), end_one, self.clock)

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
