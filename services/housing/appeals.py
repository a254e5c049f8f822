"""What housing tells the shared appeal mechanism (shared/cixi/appeals.py) about its appealable cases.

An ineligible or rejected rent-subsidy application may be appealed. The refusal was made by the
eligibility rules at submission (ineligible) or by the reviewer (rejected); an upheld appeal approves
the application through the normal approval path, so subsidy_approved, the SMS and the figures follow
exactly as for any approval.
"""

from __future__ import annotations

import json

from sqlalchemy import select

from services.housing import subsidy
from services.housing.models import SubsidyApplication
from shared.cixi.appeals import Refusal
from shared.platform.auth import Caller

SUBSIDY_APPLICATION = "subsidy_application"


class SubsidyAppeals:
    case_types = (SUBSIDY_APPLICATION,)
    refusals = (subsidy.INELIGIBLE, subsidy.REJECTED)

    def __init__(self, desk):
        self.desk = desk  # the service's application object (services/housing/desk.py)

    def _application(self, case_id: str, for_update: bool = False) -> SubsidyApplication | None:
        query = select(SubsidyApplication).where(SubsidyApplication.id == case_id)
        return self.desk.db.scalars(query.with_for_update() if for_update else query).first()

    def refusal(self, case_type: str, case_id: str) -> Refusal | None:
        application = self._application(case_id)
        if application is None:
            return None
        reviewed = application.status == subsidy.REJECTED
        return Refusal(
            case_type=case_type,
            case_id=application.id,
            resident_id=application.resident_id,
            owner=application.owner_subject,
            town=application.town,
            status=application.status,
            decided_at=application.reviewed_at if reviewed else application.submitted_at,
            decided_by=application.reviewed_by if reviewed else None,
            submitted_by=application.submitted_by,
        )

    def reverse(self, appeal, caller: Caller, now) -> None:
        application = self._application(appeal.case_id, for_update=True)
        note = f"appeal {appeal.id} upheld: " + "; ".join(json.loads(appeal.reasons))
        subsidy.grant_on_appeal(self.desk.db, self.desk.outbox, application, caller, now, note[: subsidy.MAX_NOTE])
