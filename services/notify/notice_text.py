"""What every notice's personalisation shares: reasons, dates and free text as a resident reads them
(Chinese, Cixi time, no ID or phone number, short enough for an SMS)."""

from __future__ import annotations

from datetime import date, datetime

from services.notify.reasons import UNWORDED, wording
from shared.platform.clock import SHANGHAI, local_date
from shared.platform.personal_data import mask_text

MAX_REASON_CHARS = 120


def reason_text(source: str, codes: list[str], note: str | None = None, details: list[str] = ()) -> str:
    """Reason codes of `source` in Chinese (`details`: the rules behind the first, in brackets), then the
    reviewer's note if one was marked for the resident; numbers masked, length bounded."""
    text = "；".join(wording(source, code) for code in codes) or UNWORDED
    if details:
        text += "（" + "、".join(wording(source, code) for code in details) + "）"
    if note:
        text += f"，审核意见：{note}"
    return clipped(text, MAX_REASON_CHARS)


def given_text(reasons: list[str], default: str) -> str:
    """A decision-maker's own words (an appeal's reasons), shown as given."""
    return clipped("；".join(item for item in reasons if item) or default, MAX_REASON_CHARS)


def clipped(text: str, limit: int) -> str:
    """Free text (a reviewer's reason, an activity's title) fit for an SMS: no ID or phone number in it, and
    at most `limit` characters so the message stays short."""
    text = mask_text(" ".join(str(text).split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def date_text(value: datetime | date) -> str:
    """A day as a resident reads it, in Cixi: 2026年7月3日."""
    if isinstance(value, datetime):
        value = local_date(value)
    return f"{value.year}年{value.month}月{value.day}日"


def moment_text(value: datetime) -> str:
    """A moment as a resident reads it, in Cixi time: 7月3日10:00."""
    local = value.astimezone(SHANGHAI)
    return f"{local.month}月{local.day}日{local:%H:%M}"
