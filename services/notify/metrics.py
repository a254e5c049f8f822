"""notify's counters: every status a notification reaches, by channel and provider, and the billed segments
per provider. Labels come from fixed sets (channels, provider names, statuses), never personal data."""

from __future__ import annotations

from prometheus_client import Counter

from shared.metrics import NOTIFICATIONS

SEGMENTS = Counter("newcitizen_notify_sms_segments_total", "Billed SMS segments handed to a provider", ["provider"])
NO_PROVIDER = "none"  # recorded, not yet handed to any


def reached(channel: str, provider: str | None, status: str, count: int = 1) -> None:
    if count:
        NOTIFICATIONS.labels("notify", channel, provider or NO_PROVIDER, status).inc(count)


def billed(provider: str, segments: int) -> None:
    if segments:
        SEGMENTS.labels(provider).inc(segments)
