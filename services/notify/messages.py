"""Which template an event becomes, and its personalisation. Resident-facing wording is Chinese."""

from __future__ import annotations

from datetime import date, datetime

from services.notify.rules import SHANGHAI
from services.notify.templating import period_text, yuan
from shared.pii import mask_text

MAX_REASON_CHARS = 120

# housing's machine-readable codes, as a resident reads them; anything else is shown as given
REASON_TEXT = {
    "under_min_age": "申请人未满18周岁",
    "no_residence_permit": "未持有有效浙江省居住证",
    "owns_home_in_cixi": "本人、配偶或未成年子女在慈溪有自有住房",
    "not_employed_in_cixi": "未在慈溪就业",
    "category_not_covered": "不属于补贴保障对象",
    "household_size_not_covered": "家庭人数不符合规定",
    "already_subsidised": "已享受住房保障",
    "bought_home": "已在本市购买住房",
    "left_employment": "已不在慈溪就业",
    "recertification_failed": "年度资格复核未通过",
    "expired": "保障期限届满",
    "sublet": "存在转租行为",
    "arrears": "拖欠租金",
    "tenant_request": "本人申请退出",
}


def reason_text(reasons: list[str] | str, table: dict[str, str] = REASON_TEXT, default: str = "不符合申请条件") -> str:
    """Codes from `table` in Chinese, anything else as given; joined, numbers masked, length bounded."""
    items = [reasons] if isinstance(reasons, str) else list(reasons)
    return clipped("；".join(table.get(item, item) for item in items if item) or default, MAX_REASON_CHARS)


def clipped(text: str, limit: int) -> str:
    """Free text (a reviewer's reason, an activity's title) fit for an SMS: no ID or phone number in it, and
    at most `limit` characters so the message stays short."""
    text = mask_text(" ".join(str(text).split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def local_date(value: datetime | date) -> str:
    if isinstance(value, datetime):
        value = value.astimezone(SHANGHAI).date()
    return f"{value.year}年{value.month}月{value.day}日"


def local_time(value: datetime) -> str:
    """A moment as a resident reads it, in Cixi time: 7月3日10:00."""
    local = value.astimezone(SHANGHAI)
    return f"{local.month}月{local.day}日{local:%H:%M}"


def subsidy_approved(data: dict) -> dict:
    return {"amount": yuan(data["monthly_subsidy_fen"])}


def subsidy_rejected(data: dict) -> dict:
    return {"reasons": reason_text(data["reasons"])}


def subsidy_disbursed(data: dict) -> dict:
    return {"period": period_text(data["period"]), "amount": yuan(data["amount_fen"])}


def subsidy_ended(data: dict) -> dict:
    return {"date": local_date(data["ended_at"]), "reason": reason_text(data["reason"])}


def tenancy_started(data: dict) -> dict:
    return {
        "start_date": local_date(data["start_date"]),
        "end_date": local_date(data["end_date"]),
        "rent": yuan(data["monthly_rent_fen"]),
    }


def tenancy_ended(data: dict) -> dict:
    return {"date": local_date(data["ended_at"]), "reason": reason_text(data["reason"])}
