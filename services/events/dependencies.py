"""events's own DependencyProviders and entrypoints: the clock (replaceable in tests) and config-driven timers."""

from __future__ import annotations

from datetime import datetime

from nameko.extensions import DependencyProvider

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
