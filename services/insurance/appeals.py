"""What insurance tells the shared appeal mechanism (shared/cixi/appeals.py) about its appealable cases.

A rejected enrolment may be appealed by the resident who acts for it (the insured person, or the
guardian of a child) or by a caseworker. An upheld appeal reinstates it: the enrolment is activated as
`activate` does (coverage period, enrolment_activated, the figures).
"""

from __future__ import annotations

import json

from services.insurance.models import Enrolment
from services.insurance.workflow import Desk
from shared.cixi.appeals import Refusal
from shared.platform.auth import Caller

ENROLMENT = "enrolment"


def acting_subject(enrolment: Enrolment) -> str:
    """A resident's token subject is their resident_id; a child's case is acted for by the guardian."""
    return (enrolment.guardian or enrolment.person).resident_id


class EnrolmentAppeals:
    case_types = (ENROLMENT,)
    refusals = ("rejected",)

    def __init__(self, desk: Desk):
        self.desk = desk

    def refusal(self, case_type: str, case_id: str) -> Refusal | None:
        enrolment = self.desk.db.get(Enrolment, case_id)
        if enrolment is None:
            return None
        return Refusal(
            case_type=case_type,
            case_id=enrolment.id,
            resident_id=enrolment.person.resident_id,
            owner=acting_subject(enrolment),
            town=enrolment.town,
            status=enrolment.status,
            decided_at=enrolment.updated_at,  # a rejection is final: nothing touches the row after it
            decided_by=enrolment.decided_by,
            submitted_by=enrolment.submitted_by,
            guardian_resident_id=enrolment.guardian.resident_id if enrolment.guardian else None,
        )

    def reverse(self, appeal, caller: Caller, now) -> None:
        enrolment = self.desk.locked(appeal.case_id)
        note = f"appeal {appeal.id} upheld: " + "; ".join(json.loads(appeal.reasons))
        self.desk.move(enrolment, "reinstate", note, caller)
