"""The base every service class extends: health over RPC and HTTP, Prometheus metrics, caller auth,
the personal-data purge, and `job_status` of its jobs.

nameko collects dependencies from the class and its bases, so each service declares only its own domain
entrypoints and its `db` / `outbox` / `jobs` (a `shared.platform.jobs.JobRunner` of its `jobs` table).
"""

from __future__ import annotations

import functools
import logging

from nameko.cli.run import is_entrypoint
from nameko.dependency_providers import Config
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker
from werkzeug.wrappers import Response

from shared import __version__
from shared.platform.audit import case_history
from shared.platform.auth import Auth, requires
from shared.platform.errors import NotFound, ValidationError
from shared.platform.logs import LogContext
from shared.platform.metrics import EntrypointMetrics
from shared.platform.probes import liveness, probe, readiness
from shared.platform.retention import PLATFORM_RULES, PURGE_JOB, PURGE_KEY, finished_jobs, purge, purge_kind
from shared.platform.rpc import rpc
from shared.platform.startup import StartupCheck
from shared.platform.timers import timer
from shared.platform.tracing import Tracing
from shared.platform.validation import echo
from shared.platform.web import http

log = logging.getLogger(__name__)

PURGE_INTERVAL_SECONDS = 3600
METRICS_REFRESH_SECONDS = 15
SCHEDULED = "system:scheduled_purge"  # who started a purge the timer started


class PlatformService:
    """Not a service itself: each subclass gets its own platform entrypoints (`PLATFORM_ENTRYPOINTS`).

    `nameko run services.housing.service` runs every class with entrypoints that the module names, and
    every service module imports this base. With decorated methods here, each process also ran a
    second service, "platform", without a database, which answered half the `/health` requests with
    503. So the entrypoints are attached to subclasses only (`__init_subclass__`).
    """

    name = "platform"
    # mixins (e.g. shared.cixi.appeals.AppealDesk) name their plain methods to become entrypoints here
    extra_entrypoints: tuple = ()

    startup_check = StartupCheck()
    auth = Auth()
    config = Config()
    metrics = EntrypointMetrics()
    log_context = LogContext()
    tracing = Tracing()

    retention_rules: tuple = ()  # the service's own, beside `shared.platform.retention.PLATFORM_RULES`

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        extra = [pair for base in reversed(cls.__mro__) for pair in vars(base).get("extra_entrypoints", ())]
        for attr, decorator in (*PLATFORM_ENTRYPOINTS, *extra):
            method = getattr(cls, attr)
            if not is_entrypoint(method):  # declared or inherited already as an entrypoint: keep it
                setattr(cls, attr, decorator()(_fresh(method)))

    def _db_ok(self) -> bool:
        try:
            self.db.execute(text("SELECT 1"))
            self.db.rollback()
            return True
        except Exception:  # reported as "error", never as a stack trace
            return False

    def health(self) -> dict:
        db_ok = self._db_ok()
        return {
            "service": self.name,
            "status": "ok" if db_ok else "degraded",
            "db": "ok" if db_ok else "error",
            "version": __version__,
        }

    def http_livez(self, request) -> Response:
        """GET /livez: answered by `shared.platform.probes` in the web server's greenlet; no worker runs this."""

    def http_readyz(self, request) -> Response:
        """GET /readyz, and /health (its old name): answered by `shared.platform.probes`; no worker runs this."""

    http_health = http_readyz

    def http_metrics(self, request) -> Response:
        """The exposition only: a scrape runs no query (the gauges are kept by `keep_gauges`)."""
        return Response(
            generate_latest(), mimetype=CONTENT_TYPE_LATEST.split(";")[0], headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    def keep_gauges(self) -> None:
        """Every `METRICS_REFRESH_SECONDS`, off the request path: counting whole tables on each scrape made
        a scrape cost as much as the tables were large."""
        try:
            self.refresh_gauges()
        except Exception as exc:  # the gauges keep their last values; the next tick tries again
            log.warning("gauge refresh failed: %s", type(exc).__name__)

    def refresh_gauges(self) -> None:
        """Services with gauges computed from their database override this."""

    @requires("caseworker", "reviewer", "resident")
    def get_case_history(self, case_type, case_id) -> list[dict]:
        """The ordered audit trail of one case; a resident may read only their own cases'."""
        errors = {
            name: ["Must be text of at most 64 characters."]
            for name, value in (("case_type", case_type), ("case_id", case_id))
            if not isinstance(value, str) or len(value) > 64
        }
        if errors:
            raise ValidationError(errors)
        caller = self.auth.caller
        if not caller.is_staff and self.case_owner(case_type, case_id) != caller.subject:
            raise NotFound(f"no {echo(case_type)} {echo(case_id)}")
        return case_history(self.db, case_type, case_id)

    def case_owner(self, case_type: str, case_id: str) -> str | None:
        """The token subject of the resident a case belongs to; services with resident-facing cases override."""
        return None

    @requires("admin")
    def purge_personal_data(self, dry_run: bool = True) -> dict:
        """What the retention rules would erase now (dry run: a count per rule, answered at once), or start
        the purge's job and return it (`job_status` follows it; its result counts what each rule erased)."""
        if not isinstance(dry_run, bool):
            raise ValidationError({"dry_run": ["must be true or false"]})
        if not dry_run:
            return self.jobs.start_job(self.db, PURGE_JOB, PURGE_KEY, {}, self.auth.caller.subject)
        factory = sessionmaker(bind=self.db.get_bind(), expire_on_commit=False)
        rules = self.all_retention_rules(self.jobs.model)
        return purge(factory, rules, self.config, self.jobs.now(), dry_run=True)

    def scheduled_purge(self) -> None:
        if self.config.get("RETENTION_PURGE_ENABLED", True):
            self.jobs.start_job(self.db, PURGE_JOB, PURGE_KEY, {}, SCHEDULED)

    @classmethod
    def all_retention_rules(cls, job_model) -> tuple:
        return (*PLATFORM_RULES, finished_jobs(job_model), *cls.retention_rules)

    @classmethod
    def platform_job_kinds(cls, job_model) -> dict:
        """The kinds of job every service's runner runs beside its own (`shared.platform.jobs.JobRunner`)."""
        return {PURGE_JOB: purge_kind(cls.all_retention_rules(job_model))}

    @requires("admin")
    def job_status(self, job_id) -> dict:
        """A job's progress, for the roles that may start its kind; any other job id is `NotFound`."""
        return self.jobs.status(self.db, job_id, self.auth.caller)


PLATFORM_ENTRYPOINTS = (
    ("health", lambda: rpc(read_only=True)),
    ("http_livez", lambda: probe("/livez", liveness)),
    ("http_readyz", lambda: probe("/readyz", readiness)),
    ("http_health", lambda: probe("/health", readiness)),
    ("http_metrics", lambda: http("GET", "/metrics")),
    ("purge_personal_data", lambda: rpc),
    ("get_case_history", lambda: rpc(read_only=True)),
    ("job_status", lambda: rpc(read_only=True)),
    ("scheduled_purge", lambda: timer("PURGE_INTERVAL_SECONDS", PURGE_INTERVAL_SECONDS)),
    ("keep_gauges", lambda: timer("METRICS_REFRESH_SECONDS", METRICS_REFRESH_SECONDS, eager=True)),
)


def _fresh(method):
    """A new function per service class, so each class's entrypoint registrations stay its own."""

    @functools.wraps(method)
    def entrypoint(self, *args, **kwargs):
        return method(self, *args, **kwargs)

    return entrypoint
