"""The platform's one source of "now", and Cixi's local time.

Business time (quiet hours, daily caps, appeal windows, periods, ages, holds, sweeps) is read only from here,
so a test can say what time it is instead of depending on when it runs:

- `utcnow()`: the process clock, aware UTC. It is the wall clock unless `CLOCK_START` is configured, in which
  case it starts at that instant and ticks in real time from it. `make test-clock` sets it (23:30 on the last
  day of a month, 07:59, 08:00 in Asia/Shanghai) for the pytest process and every service it starts.
- `Clock()`: the DependencyProvider a service reads (`self.clock.now()`). A test freezes one container's clock
  (`clock.frozen = moment`) or starts it ticking from a moment (`clock.start_at(moment)`).

Security time is not business time: token lifetimes and signed-request timestamps stay on the real clock
(`time.time()`), so a shifted platform clock can never make an expired token valid. So do the AMQP timestamps
the broker reports ages from (`wall_timestamp()`): Prometheus compares them with its own real time.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from nameko.extensions import DependencyProvider

SHANGHAI = ZoneInfo("Asia/Shanghai")
CLOCK_SETTING = "CLOCK_START"
ANCHOR_SETTING = "CLOCK_ANCHOR"  # set on first use: the wall-clock epoch at which CLOCK_START held


class ClockRefused(RuntimeError):
    """A configured clock in production: the platform must run on the real time there."""


def _wall() -> datetime:
    return datetime.now(UTC)


def wall_timestamp() -> int:
    """An AMQP message timestamp: real seconds since the epoch, whatever the platform clock says."""
    return int(_wall().timestamp())


class _ProcessClock:
    def __init__(self):
        self.offset = timedelta(0)
        self.started: datetime | None = None

    def start_at(self, instant: datetime, anchor: datetime | None = None) -> None:
        """Read `instant` at the real moment `anchor` (default now) and tick on from there."""
        if instant != self.started:  # every container of a pytest run configures the same start: keep ticking
            self.started = instant
            self.offset = instant - (anchor or _wall())

    def now(self) -> datetime:
        return _wall() + self.offset


_process = _ProcessClock()


def process_clock() -> _ProcessClock:
    """The process clock itself, for a test that must say what time it is outside any container."""
    return _process


def utcnow() -> datetime:
    return _process.now()


def local_now(moment: datetime | None = None) -> datetime:
    """`moment` (default now) in Asia/Shanghai, where every calendar rule of the Center is judged."""
    return (moment or utcnow()).astimezone(SHANGHAI)


def local_date(moment: datetime) -> date:
    """The calendar day `moment` falls on in Cixi (a date; notify's `date_text` is the words for one)."""
    return moment.astimezone(SHANGHAI).date()


def local_today(moment: datetime | None = None) -> date:
    return local_date(moment or utcnow())


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a calendar day in Cixi, as aware instants (a daily cap resets at the start)."""
    start = datetime.combine(day, time.min, tzinfo=SHANGHAI)
    return start, start + timedelta(days=1)


def parse_instant(value: str) -> datetime:
    instant = datetime.fromisoformat(str(value).strip())
    if instant.tzinfo is None:
        raise ValueError(f"{CLOCK_SETTING} needs an offset, e.g. 2026-11-30T23:30:00+08:00")
    return instant.astimezone(UTC)


def configure(config: dict) -> None:
    """Start the process clock from `CLOCK_START` in a service's config; refused when `ENV=production`."""
    value = config.get(CLOCK_SETTING)
    if not value:
        return
    if str(config.get("ENV", "development")).lower() == "production":
        raise ClockRefused(f"{CLOCK_SETTING} is set; a production service runs on the real clock")
    _process.start_at(parse_instant(value), _anchor())


def _anchor() -> datetime:
    """The real moment the configured start stands for, shared through the environment: a process started
    later (a service restarted by a test, the ops CLI) reads the same time as the one that set it, not the
    configured start again."""
    if not os.environ.get(ANCHOR_SETTING):
        os.environ[ANCHOR_SETTING] = repr(_wall().timestamp())
    return datetime.fromtimestamp(float(os.environ[ANCHOR_SETTING]), UTC)


if os.environ.get(CLOCK_SETTING):  # tools and tests outside a container (the ops CLI, pytest) share the setting
    configure({CLOCK_SETTING: os.environ[CLOCK_SETTING], "ENV": os.environ.get("ENV", "development")})


class Clock(DependencyProvider):
    """`self.clock.now()` in a worker; the service's background loops read the same provider."""

    def __init__(self):
        self.frozen: datetime | None = None
        self.offset = timedelta(0)

    def setup(self):
        configure(self.container.config)

    def start_at(self, instant: datetime) -> None:
        """From now on this container's clock reads `instant` and ticks on from it."""
        self.frozen = None
        self.offset = instant - utcnow()

    def now(self) -> datetime:
        return self.frozen or utcnow() + self.offset

    def get_dependency(self, worker_ctx) -> Clock:
        return self
