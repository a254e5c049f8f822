"""`self.clock.now()`: aware UTC, the one "now" of the steps that read it, so tests can freeze it.

clock = Clock()  # in the service class
next(dep for dep in container.dependencies if isinstance(dep, Clock)).frozen = moment  # in a test
"""

from __future__ import annotations

from datetime import datetime

from nameko.extensions import DependencyProvider

from shared.models import utcnow


class Clock(DependencyProvider):
    frozen: datetime | None = None

    def now(self) -> datetime:
        return self.frozen or utcnow()

    def get_dependency(self, worker_ctx) -> Clock:
        return self
