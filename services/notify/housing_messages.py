"""Housing events as personalisation for notify's templates. Resident-facing wording is Chinese."""

from __future__ import annotations

from services.notify.notice_text import date_text, reason_text
from services.notify.templating import period_text, yuan


def subsidy_approved(data: dict) -> dict:
    return {"amount": yuan(data["monthly_subsidy_fen"])}


def subsidy_rejected(data: dict) -> dict:
    return {"reasons": reason_text("housing", data["reasons"], data.get("note_for_resident"))}


def subsidy_disbursed(data: dict) -> dict:
    return {"period": period_text(data["period"]), "amount": yuan(data["amount_fen"])}


def subsidy_recertified(data: dict) -> dict:
    return {"amount": yuan(data["monthly_subsidy_fen"]), "until": period_text(data["end_period"])}


def ended_reason(data: dict) -> str:
    return reason_text("housing", [data["reason"]], details=data.get("eligibility_reasons") or ())


def subsidy_ended(data: dict) -> dict:
    return {"date": date_text(data["ended_at"]), "reason": ended_reason(data)}


def tenancy_started(data: dict) -> dict:
    return {
        "start_date": date_text(data["start_date"]),
        "end_date": date_text(data["end_date"]),
        "rent": yuan(data["monthly_rent_fen"]),
    }


def tenancy_ended(data: dict) -> dict:
    return {"date": date_text(data["ended_at"]), "reason": ended_reason(data)}
