"""Quiet hours (Asia/Shanghai), opt-out replies, retry delays and the token bucket, on a frozen clock."""

from datetime import UTC, datetime

import pytest

from services.notify import rules

QUIET = (rules.parse_hhmm("20:00"), rules.parse_hhmm("08:00"))


def shanghai(hour, minute=0, day=2):
    # 2026-03-<day> <hour>:<minute> in Shanghai (UTC+8), as an aware UTC datetime
    return datetime(2026, 3, day, hour, minute, tzinfo=rules.SHANGHAI).astimezone(UTC)


@pytest.mark.parametrize(
    ("hour", "minute", "quiet"),
    [(19, 59, False), (20, 0, True), (23, 30, True), (0, 0, True), (7, 59, True), (8, 0, False), (12, 0, False)],
)
def test_quiet_hours_are_judged_in_shanghai(hour, minute, quiet):
    assert rules.in_quiet_hours(shanghai(hour, minute), *QUIET) is quiet


def test_promotional_held_until_eight_the_next_morning():
    assert rules.not_before("promotional", shanghai(21, 15), *QUIET) == shanghai(8, 0, day=3)
    assert rules.not_before("promotional", shanghai(6, 0), *QUIET) == shanghai(8, 0, day=2)
    assert rules.not_before("promotional", shanghai(9, 0), *QUIET) is None


def test_transactional_goes_at_any_hour():
    assert rules.not_before("transactional", shanghai(23, 0), *QUIET) is None


def test_shanghai_day_boundaries():
    now = shanghai(1, 0, day=3)  # 2026-03-02 17:00 UTC
    assert rules.shanghai_day_start(now) == shanghai(0, 0, day=3)
    assert rules.next_shanghai_day(now) == shanghai(0, 0, day=4)


@pytest.mark.parametrize(
    ("text", "opt_out"),
    [("T", True), ("t", True), (" TD ", True), ("td。", True), ("退订", True), ("退订!", True), ("好的", False),
     ("TT", False), ("", False), ("不要退订", False)],
)  # fmt: skip
def test_opt_out_replies(text, opt_out):
    assert rules.is_opt_out(text) is opt_out


def test_retry_delays_run_out():
    delays = (30, 120)
    assert [rules.retry_delay(n, delays) for n in (1, 2, 3)] == [30.0, 120.0, None]


class FakeMonotonic:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_token_bucket_spends_the_burst_then_refills_at_the_rate():
    clock = FakeMonotonic()
    bucket = rules.TokenBucket(rate=10, capacity=100, monotonic=clock)
    assert bucket.try_take(100) == 0
    assert bucket.try_take(1) == pytest.approx(0.1)
    clock.now += 0.5
    assert bucket.try_take(5) == 0
    assert bucket.try_take(10) == pytest.approx(1.0)
    bucket.take(10, sleep=clock.sleep)  # waits a second of fake time
    assert clock.now == pytest.approx(101.5)
    assert bucket.try_take(1) > 0


def test_token_bucket_rejects_nonsense():
    with pytest.raises(ValueError):
        rules.TokenBucket(rate=0, capacity=1)
