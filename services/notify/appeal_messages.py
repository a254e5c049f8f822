"""Appeal events (housing and insurance, shared/cixi/appeals.py) as personalisation for notify's templates.

The resident who appealed is told at each step; for a child's case the guardian, as "子女…". Reasons
arrive masked and are shown as given (clipped)."""

from __future__ import annotations

from services.notify.notice_text import date_text, given_text

CASE_TEXT = {"subsidy_application": "租赁补贴申请", "enrolment": "参保申请"}


def appealed_case(data: dict) -> dict:
    case = CASE_TEXT.get(data["case_type"], "申请")
    return {"case": f"子女{case}" if data.get("guardian_resident_id") else case}


def appeal_received(data: dict) -> dict:
    return {**appealed_case(data), "due_on": date_text(data["due_on"])}


def appeal_decided(data: dict) -> dict:
    return {**appealed_case(data), "reasons": given_text(data["reasons"], "见复核决定书")}
