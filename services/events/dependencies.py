"""events's own DependencyProviders and entrypoints: the clock (replaceable in tests) and config-driven timers."""

from __future__ import annotations

from datetime import datetime

from nameko.extensions import DependencyProvider
from nameko.timer import Timer

from shared.clock import configure, utcnow


class SystemClock:
    def now(self) -> datetime:
        return utcnow()


class Clock(DependencyProvider):
    """`self.clock.now()`: the one source of "now" for holds, reminders and check-in, so tests can freeze it."""

    def setup(self):
        configure(self.container.config)
        self.clock = SystemClock()

    def get_dependency(self, worker_ctx) -> SystemClock:
        return self.clock


class ConfiguredTimer(Timer):
    """nameko's timer with its interval read from the service config (`config_key`, seconds)."""

    def __init__(self, config_key: str, default: float, **kwargs):
        self.config_key = config_key
        super().__init__(interval=default, **kwargs)

    def setup(self):
        self.interval = float(self.container.config.get(self.config_key, self.interval))


timer = ConfiguredTimer.decorator
