"""Sending rules as plain functions of time and state: quiet hours, opt-out replies, retries, rate limits."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time

from services.notify import statuses
from shared.platform.clock import SHANGHAI, local_date, local_day_bounds

OPT_OUT_KEYWORDS = frozenset({"T", "TD", "退订"})


def parse_hhmm(value: str) -> clock_time:
    hours, minutes = str(value).split(":")
    return clock_time(int(hours), int(minutes))


def in_quiet_hours(now: datetime, start: clock_time, end: clock_time) -> bool:
    local = now.astimezone(SHANGHAI).time()
    if start <= end:
        return start <= local < end
    return local >= start or local < end  # the window wraps midnight (20:00–08:00)


def quiet_hours_release(now: datetime, start: clock_time, end: clock_time) -> datetime | None:
    """When a promotional message may go: None if now, else the end of the quiet window (UTC)."""
    if not in_quiet_hours(now, start, end):
        return None
    local = now.astimezone(SHANGHAI)
    release = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if release <= local:
        release += timedelta(days=1)
    return release.astimezone(UTC)


def not_before(kind: str, now: datetime, start: clock_time, end: clock_time) -> datetime | None:
    """Transactional notices go at any hour; promotional ones wait for the quiet hours to end."""
    return quiet_hours_release(now, start, end) if kind == statuses.PROMOTIONAL else None


def shanghai_day_start(now: datetime) -> datetime:
    return local_day_bounds(local_date(now))[0].astimezone(UTC)


def next_shanghai_day(now: datetime) -> datetime:
    return local_day_bounds(local_date(now))[1].astimezone(UTC)


def is_opt_out(text: str) -> bool:
    """A reply of T, TD or 退订 (any case, surrounding spaces or punctuation ignored) opts the number out."""
    cleaned = (text or "").strip().strip("。.!！ ").upper()
    return cleaned in OPT_OUT_KEYWORDS


def retry_delay(attempts: int, delays: list[float] | tuple[float, ...]) -> float | None:
    """Seconds before attempt `attempts + 1`, or None when the retries are used up."""
    if attempts < 1 or attempts > len(delays):
        return None
    return float(delays[attempts - 1])


def refill(tokens: float, elapsed: float, rate: float, capacity: float) -> float:
    """Tokens in a bucket `elapsed` seconds after it held `tokens` (a clock stepping back adds none)."""
    return min(capacity, tokens + max(0.0, elapsed) * rate)


def draw(tokens: float, count: float, rate: float) -> tuple[float, float]:
    """(tokens left, seconds to wait): all of `count` taken when there, else none taken and the wait for them."""
    if tokens >= count:
        return tokens - count, 0.0
    return tokens, (count - tokens) / rate


class TokenBucket:
    """`rate` tokens a second, at most `capacity` saved up, in this process (the local fake gateway's limit).
    notify's own senders draw on `services.notify.send_rate.SharedTokenBucket`, the same arithmetic kept in
    the database, because a provider's limit is per account, not per replica."""

    def __init__(self, rate: float, capacity: float, monotonic: Callable[[], float] = time.monotonic):
        if rate <= 0 or capacity <= 0:
            raise ValueError("rate and capacity must be positive")
        self.rate = float(rate)
        self.capacity = float(capacity)
        self._monotonic = monotonic
        self._tokens = float(capacity)
        self._stamp = monotonic()
        self._lock = threading.Lock()

    def try_take(self, count: float = 1) -> float:
        """Take `count` tokens if they are there and return 0; otherwise take none and return the wait."""
        with self._lock:
            now = self._monotonic()
            tokens = refill(self._tokens, now - self._stamp, self.rate, self.capacity)
            self._tokens, wait = draw(tokens, min(float(count), self.capacity), self.rate)
            self._stamp = now
            return wait

    def take(self, count: float = 1, sleep: Callable[[float], None] = time.sleep) -> None:
        while (wait := self.try_take(count)) > 0:
            sleep(wait)
