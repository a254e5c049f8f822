"""Configuration checked when a service starts, so a wrong setting stops it at once with a sentence saying
which, instead of failing at the first request that needs it. `ENV=production` adds what a production
install must not run on: SQLite (one file on one pod's disk; replicas would each have their own), and any
secret that is an example value, too short or half of a group (`shared.platform.secret_settings`). Every problem is
in the one error, so an operator fixes them in one go."""

from __future__ import annotations

import os
from collections.abc import Mapping

from nameko.extensions import DependencyProvider

from shared.platform.config import ConfigurationError, is_production
from shared.platform.secret_settings import secret_problems
from shared.platform.tracing import problems as tracing_problems

REQUIRED = ("AMQP_URI", "DATABASE_URL", "WEB_SERVER_ADDRESS")
QUEUE_TYPES = ("classic", "quorum")
__all__ = ["ConfigurationError", "StartupCheck", "check", "problems"]


def problems(config: dict, environ: Mapping[str, str] = os.environ) -> list[str]:
    found = [f"{key} is not set" for key in REQUIRED if not str(config.get(key) or "").strip()]
    found.extend(tracing_problems(environ))  # the SDK reads the environment itself, not the config
    if str(config.get("EVENT_QUEUE_TYPE", "classic")) not in QUEUE_TYPES:
        found.append(f"EVENT_QUEUE_TYPE must be one of {', '.join(QUEUE_TYPES)}")
    workers = config.get("max_workers", 10)
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        found.append("max_workers must be a whole number of at least 1")
    if is_production(config) and str(config.get("DATABASE_URL", "")).startswith("sqlite"):
        found.append("DATABASE_URL is SQLite; a production service needs PostgreSQL (<SERVICE>_DATABASE_URL)")
    if is_production(config):
        found.extend(secret_problems(config))
    return found


def check(config: dict) -> None:
    found = problems(config)
    if found:
        raise ConfigurationError("refusing to start: " + "; ".join(found))


class StartupCheck(DependencyProvider):
    def setup(self):
        check(self.container.config)
