"""notify's counters: every status a notification reaches, by channel and provider, and the billed segments
per provider. Labels come from fixed sets (channels, provider names, statuses), never personal data."""

from __future__ import annotations

from prometheus_client import Counter

from services.notify import statuses
from shared.platform.metrics import NOTIFICATIONS

SEGMENTS = Counter("newcitizen_notify_sms_segments_total", "Billed SMS segments handed to a provider", ["provider"])
ACCOUNT_REFUSALS = Counter(
    "newcitizen_notify_sms_account_refusals_total",
    "SMS a provider refused because of our account: no balance, the account's daily limit, bad credentials, suspended",
    ["provider", "kind"],
)
ACCOUNT_KINDS = ("balance", "limit", "credentials", "suspended")
NO_PROVIDER = "none"  # recorded, not yet handed to any


def reached(channel: str, provider: str | None, status: str, count: int = 1) -> None:
    if count:
        NOTIFICATIONS.labels("notify", channel, provider or NO_PROVIDER, status).inc(count)


def billed(provider: str, segments: int) -> None:
    if segments:
        SEGMENTS.labels(provider).inc(segments)


def account_refused(provider: str, kind: str) -> None:
    ACCOUNT_REFUSALS.labels(provider, kind).inc()


def account_series(provider: str) -> None:
    """Every kind at 0 from the start: an alert on `increase()` cannot see a series' first sample."""
    for kind in ACCOUNT_KINDS:
        ACCOUNT_REFUSALS.labels(provider, kind)


def status_series(channel: str, provider: str) -> None:
    """Every final status of a provider at 0 from the start, for the same reason: the SMS failure-rate alert
    reads `rate()` of these, and a failure that created its series was invisible to it."""
    for status in statuses.FINAL:
        NOTIFICATIONS.labels("notify", channel, provider, status)
