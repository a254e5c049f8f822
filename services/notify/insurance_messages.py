"""Insurance events as personalisation for notify's templates. Resident-facing wording is Chinese.

A child's enrolment (newborn, preschool) is told to the guardian who applied, as "您子女的…"; the child is
never named (the event carries no name, and an SMS is no place for one)."""

from __future__ import annotations

from services.notify.messages import local_date, reason_text
from services.notify.templating import yuan

SCHEME_TEXT = {"pension": "企业职工基本养老保险", "medical": "基本医疗保险"}
ROUTE_TEXT = {
    "employee_points": "职工积分医疗保险",
    "resident": "城乡居民医保",
    "newborn": "城乡居民医保",
    "preschool": "城乡居民医保",
}
REGISTRATION_TEXT = {"employee": "就业登记", "flexible": "灵活就业登记"}

# insurance's rule names (services/insurance/rules.py), as a resident reads them; a reviewer's own
# wording is shown as given
REASON_TEXT = {
    "working_age": "不在法定劳动年龄内",
    "minimum_age": "未满法定就业年龄",
    "employee_registration": "未在慈溪办理就业登记",
    "flexible_registration": "未在慈溪办理灵活就业登记",
    "non_local_hukou": "本市户籍人员不适用该参保方式",
    "cixi_residence": "未持有有效的慈溪居住证",
    "zhejiang_permit": "未持有有效的浙江省居住证",
    "newborn_age": "已超过新生儿参保年龄",
    "birth_certificate": "未提供出生医学证明",
    "parent_insured": "父母一方未在本市正常参保",
    "parent_contribution_months": "父母一方累计缴费月数不足",
    "parent_cixi_permit": "父母一方未持有有效的慈溪居住证",
    "preschool_age": "已超过学龄前儿童参保年龄",
}


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


def enrolment_activated(data: dict) -> dict:
    return {
        **insured(data),
        "start_date": local_date(data["coverage_start"]),
        "end_date": local_date(data["coverage_end"]),
        "contribution": contribution_text(data),
    }


def enrolment_rejected(data: dict) -> dict:
    return {**insured(data), "reasons": reason_text(data["reasons"], REASON_TEXT, "不符合参保条件")}


def enrolment_suspended(data: dict) -> dict:
    return {**insured(data), "reason": reason_text(data["reason"], REASON_TEXT, "按规定暂停")}


def enrolment_lapsed(data: dict) -> dict:
    return {**insured(data), "end_date": local_date(data["coverage_end"])}


def renewal_due(data: dict) -> dict:
    return {**insured(data), "end_date": local_date(data["coverage_end"]), "days_left": str(data["days_left"])}


def is_late(data: dict) -> bool:
    return bool(data["late"])


def employment_registered_late(data: dict) -> dict:
    return {
        "registration": REGISTRATION_TEXT.get(data["kind"], "就业登记"),
        "start_date": local_date(data["start_date"]),
        "days": str(data["days_after_start"]),
    }
