"""Community-activity events (source `events`) as personalisation for notify's templates.

Times are shown in Cixi time (Asia/Shanghai). Titles and venue names are staff-written and may be long, so
they are clipped to keep a notice to one billed SMS."""

from __future__ import annotations

from services.notify.notice_text import MAX_REASON_CHARS, clipped, moment_text
from services.notify.reasons import wording

TITLE_CHARS = 16
VENUE_CHARS = 16


def activity(data: dict) -> dict:
    """What every registration notice names: the activity and when it starts."""
    return {"title": clipped(data["title"], TITLE_CHARS), "time": moment_text(data["starts_at"])}


def with_venue(data: dict) -> dict:
    return {**activity(data), "venue": clipped(data["venue_name"], VENUE_CHARS)}


def registration_rejected(data: dict) -> dict:
    return {**activity(data), "reason": clipped(data["reason"] or "不符合活动要求", MAX_REASON_CHARS)}


def waitlisted(data: dict) -> dict:
    return {**activity(data), "position": str(data["position"])}


def seat_offered(data: dict) -> dict:
    return {**activity(data), "hold_until": moment_text(data["hold_expires_at"])}


def registration_cancelled(data: dict) -> dict:
    return {**activity(data), "outcome": wording("events", data["reason"])}
