"""Insurance events as personalisation for notify's templates. Resident-facing wording is Chinese.

A child's enrolment (newborn, preschool) is told to the guardian who applied, as "您子女的…"; the child is
never named (the event carries no name, and an SMS is no place for one)."""

from __future__ import annotations

from services.notify.notice_text import date_text, reason_text
from services.notify.templating import yuan

SCHEME_TEXT = {"pension": "企业职工基本养老保险", "medical": "基本医疗保险"}
ROUTE_TEXT = {
    "employee_points": "职工积分医疗保险",
    "resident": "城乡居民医保",
    "newborn": "城乡居民医保",
    "preschool": "城乡居民医保",
}
REGISTRATION_TEXT = {"employee": "就业登记", "flexible": "灵活就业登记"}

# who answers questions about a refusal or a suspension
OFFICE_TEXT = {"pension": "社保经办机构", "medical": "医保经办机构"}


def insured(data: dict) -> dict:
    """Whose enrolment and which insurance: the placeholders every enrolment template starts with."""
    return {
        "who": "您子女" if data.get("guardian_resident_id") else "您",
        "scheme": ROUTE_TEXT.get(data["route"]) or SCHEME_TEXT.get(data["scheme"], data["scheme"]),
    }


def contribution_text(data: dict) -> str:
    if data.get("monthly_contribution_fen") is not None:
        return f"个人每月缴费{yuan(data['monthly_contribution_fen'])}元"
    if data.get("yearly_contribution_fen") is not None:
        return f"个人年缴费{yuan(data['yearly_contribution_fen'])}元"
    return "缴费按规定办理"


def coverage_text(data: dict) -> str:
    """Medical runs in periods; enterprise pension is continuous: paid monthly until retirement or transfer out."""
    start = date_text(data["coverage_start"])
    if data.get("coverage_end") is None:
        return f"自{start}起按月缴费，持续参保至退休或转出"
    return f"保障期{start}至{date_text(data['coverage_end'])}"


def enrolment_activated(data: dict) -> dict:
    return {**insured(data), "coverage": coverage_text(data), "contribution": contribution_text(data)}


def office(data: dict) -> str:
    return OFFICE_TEXT[data["scheme"]]


def enrolment_rejected(data: dict) -> dict:
    reasons = reason_text("insurance", data["reasons"], data.get("note_for_resident"))
    return {**insured(data), "reasons": reasons, "office": office(data)}


def enrolment_suspended(data: dict) -> dict:
    reason = reason_text("insurance", [data["reason"]], data.get("note_for_resident"))
    return {**insured(data), "reason": reason, "office": office(data)}


def enrolment_ended(data: dict) -> dict:
    reason = reason_text("insurance", [data["reason"]], None)
    return {**insured(data), "reason": reason, "office": office(data)}


def enrolment_lapsed(data: dict) -> dict:
    return {**insured(data), "end_date": date_text(data["coverage_end"])}


def renewal_due(data: dict) -> dict:
    return {**insured(data), "end_date": date_text(data["coverage_end"]), "days_left": str(data["days_left"])}


def is_late(data: dict) -> bool:
    return bool(data["late"])


def employment_registered_late(data: dict) -> dict:
    return {
        "registration": REGISTRATION_TEXT.get(data["kind"], "就业登记"),
        "start_date": date_text(data["start_date"]),
        "days": str(data["days_after_start"]),
    }
