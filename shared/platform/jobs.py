"""Long batch runs as jobs: an RPC starts one and returns its id at once; the work goes on in chunks.

    class Job(JobColumns, Base): __tablename__ = "jobs"       # each service's own table, one shape
    jobs = JobRunner(Job, {"disbursement": JobKind(disbursement.chunk, roles=("admin",))})

    self.jobs.start_job(session, "disbursement", key="2025-06", params={...}, by=caller.subject)

Every service has a runner and its `job_status(job_id)` RPC (shared/platform/service.py), and every runner also
runs the platform's own kinds, which its service class names (`platform_job_kinds`: the retention purge).

Why: a disbursement held one unacknowledged RPC for the whole run. Past RabbitMQ's `consumer_timeout`
(30 minutes by default) the broker closed the channel and redelivered the call, which ran again; a rollout
killed it; the CLI waited up to an hour on a reply. Now nothing waits on the broker.

The guarantee: a chunk is one transaction. The handler's rows and outbox events, the audit records of the
cases it moves (actor: who started the job; correlation id: the job's), the job's new cursor and its counters
commit together, or none of it does. The chunk's first statement bumps the job's `version`
where it still holds the one read: on PostgreSQL the row was read FOR UPDATE SKIP LOCKED, so of several
replicas exactly one runs a given chunk and the others move on (as the outbox relay does); on SQLite the bump
takes the write lock, and a runner that read an older version finds nothing to bump and leaves the chunk.
A crash loses at most the chunk in flight; any replica's runner resumes from the committed cursor, at once
on start and then every `JOBS_POLL_SECONDS`. `JOB_CHUNK_SIZE` (items per chunk, default each kind's own)
bounds a transaction. A chunk that raises is rolled back and tried again at the next poll; after
`MAX_CHUNK_FAILURES` in a row the job is `failed`, with the error's type (never its text, which can quote a
row).

One active job per (kind, key): a partial unique index (status queued or running). A second start while one
is active returns that job; once it has finished, a start is a new job (a disbursement re-run that pays
only the households added since, as a re-run always did).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import eventlet
from eventlet.event import Event
from nameko.extensions import DependencyProvider
from sqlalchemy import Index, Integer, String, Text, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column

from shared.platform.audit import Audit
from shared.platform.clock import Clock
from shared.platform.crashpoints import crash_point
from shared.platform.db import database_of
from shared.platform.errors import NotFound
from shared.platform.ids import new_id
from shared.platform.models import UtcDateTime, utcnow
from shared.platform.validation import echo

log = logging.getLogger(__name__)

QUEUED, RUNNING, COMPLETED, FAILED = "queued", "running", "completed", "failed"
ACTIVE = (QUEUED, RUNNING)
ACTIVE_SQL = "status IN ('queued', 'running')"
MAX_CHUNK_FAILURES = 5  # in a row; then the job is failed and says why (a new start begins again)
DEFAULT_POLL_SECONDS = 2.0


class JobColumns:
    """The columns of every service's `jobs` table (`create_jobs_table` below builds it)."""

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    key: Mapped[str] = mapped_column(String(200))  # what makes two starts the same job (e.g. the period)
    params: Mapped[str] = mapped_column(Text)  # JSON, what the handler needs
    status: Mapped[str] = mapped_column(String(20))
    started_by: Mapped[str] = mapped_column(String(100))
    cursor: Mapped[str] = mapped_column(String(200), default="")  # where the next chunk starts
    total: Mapped[int | None] = mapped_column(Integer, nullable=True)  # items the job expects, if known
    done: Mapped[int] = mapped_column(Integer, default=0)  # items the committed chunks went through
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[str] = mapped_column(Text, default="{}")  # JSON, the handler's running counters
    failures: Mapped[int] = mapped_column(Integer, default=0)  # chunks failed in a row
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)  # moves with each committed chunk
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    @declared_attr.directive
    def __table_args__(cls) -> tuple:
        return (
            Index("ix_jobs_status_created", "status", "created_at"),
            Index(
                "uq_jobs_active_key",
                "kind",
                "key",
                unique=True,
                sqlite_where=text(ACTIVE_SQL),
                postgresql_where=text(ACTIVE_SQL),
            ),
        )


def create_jobs_table(op) -> None:
    import sqlalchemy as sa

    op.create_table(
        "jobs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_by", sa.String(100), nullable=False),
        sa.Column("cursor", sa.String(200), nullable=False),
        sa.Column("total", sa.Integer, nullable=True),
        sa.Column("done", sa.Integer, nullable=False),
        sa.Column("chunks", sa.Integer, nullable=False),
        sa.Column("result", sa.Text, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_jobs_status_created", "jobs", ["status", "created_at"])
    op.create_index(
        "uq_jobs_active_key",
        "jobs",
        ["kind", "key"],
        unique=True,
        sqlite_where=sa.text(ACTIVE_SQL),
        postgresql_where=sa.text(ACTIVE_SQL),
    )


def drop_jobs_table(op) -> None:
    op.drop_table("jobs")


@dataclass
class Chunk:
    """What a handler hands back for one chunk: where the next one starts, how many items it went through,
    its counters added to the job's, and whether the job is finished."""

    cursor: str
    done: int = 0
    counts: dict = field(default_factory=dict)
    finished: bool = False


@dataclass
class ChunkContext:
    """What a handler gets: the chunk's session (commit is the runner's), an outbox writer on it, the
    moment the chunk runs at (the service clock's), the job's params, the chunk size and the service's config."""

    session: Session
    outbox: object
    now: datetime
    params: dict
    cursor: str
    size: int
    config: dict = field(default_factory=dict)


@dataclass(frozen=True)
class JobKind:
    """`chunk(context) -> Chunk`; `total(session, params)` counts the items at start (None if unknown);
    `roles` may start the job and read its status. `context.outbox` is None in a service without an outbox."""

    chunk: Callable[[ChunkContext], Chunk]
    roles: tuple[str, ...]
    total: Callable[[Session, dict], int | None] | None = None
    size: int = 1000


def new_job(model, service: str, kind: str, key: str, params: dict, by: str, now: datetime, total: int | None):
    """A queued job's row (not added to any session): its id names the service, for `newcitizen job ID`."""
    return model(
        id=f"{service}.{new_id()}",
        kind=kind,
        key=key,
        params=json.dumps(params, ensure_ascii=False, sort_keys=True),
        status=QUEUED,
        started_by=by,
        cursor="",
        total=total,
        done=0,
        chunks=0,
        result="{}",
        failures=0,
        version=1,
        created_at=now,
        updated_at=now,
    )


def job_view(job) -> dict:
    return {
        "job_id": job.id,
        "kind": job.kind,
        "key": job.key,
        "status": job.status,
        "started_by": job.started_by,
        "total": job.total,
        "done": job.done,
        "chunks": job.chunks,
        "result": json.loads(job.result or "{}"),
        "error": job.error,
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def _add_counts(result: dict, counts: dict) -> dict:
    merged = dict(result)
    for name, value in counts.items():
        merged[name] = merged.get(name, 0) + value if isinstance(value, int) else value
    return merged


class JobRunner(DependencyProvider):
    """`self.jobs`: start a job, read its status; and the loop that runs the chunks of every active job."""

    def __init__(
        self, model, kinds: dict[str, JobKind] | None = None, database_attr: str = "db", outbox_attr: str = "outbox"
    ):
        self.model = model
        self.kinds = dict(kinds or {})
        self.database_attr = database_attr
        self.outbox_attr = outbox_attr

    def setup(self):
        config = self.container.config
        platform_kinds = getattr(self.container.service_cls, "platform_job_kinds", None)
        if platform_kinds is not None:
            self.kinds = {**platform_kinds(self.model), **self.kinds}
        self.poll_seconds = float(config.get("JOBS_POLL_SECONDS", DEFAULT_POLL_SECONDS))
        self.enabled = bool(config.get("JOBS_ENABLED", True))  # false: only `step()` by hand runs a chunk (tests)
        size = config.get("JOB_CHUNK_SIZE")
        self.sizes = {kind: int(size or spec.size) for kind, spec in self.kinds.items()}
        self.database = database_of(self.container, self.database_attr)
        dependencies = self.container.dependencies
        self.outbox = next((dep for dep in dependencies if getattr(dep, "attr_name", None) == self.outbox_attr), None)
        self.clock = next((dep for dep in dependencies if isinstance(dep, Clock)), None)
        self.audit = next((dep for dep in dependencies if isinstance(dep, Audit)), None)
        self.wake = Event()

    def start(self):
        if self.enabled:
            self.container.spawn_managed_thread(self._loop, identifier=f"{self.container.service_name}.jobs")

    def get_dependency(self, worker_ctx) -> JobRunner:
        return self

    def now(self) -> datetime:
        return self.clock.now() if self.clock is not None else utcnow()

    # --- what an RPC does -----------------------------------------------------------------------------

    def start_job(self, session: Session, kind: str, key: str, params: dict, by: str) -> dict:
        """The active job for (kind, key), or a new one, committed; returns its view at once."""
        existing = self._active(session, kind, key)
        if existing is not None:
            view = job_view(existing)
            session.rollback()
            return view
        spec = self.kinds[kind]
        total = spec.total(session, params) if spec.total else None
        job = new_job(self.model, self.container.service_name, kind, key, params, by, self.now(), total)
        session.add(job)
        try:
            session.commit()
        except IntegrityError:  # a second start at the same moment: that one's job is the job
            session.rollback()
            return job_view(self._active(session, kind, key))
        if not self.wake.ready():
            self.wake.send()  # this replica's runner starts at once instead of at its next poll
        return job_view(job)

    def _active(self, session: Session, kind: str, key: str):
        return session.scalar(
            select(self.model).where(self.model.kind == kind, self.model.key == key, self.model.status.in_(ACTIVE))
        )

    def status(self, session: Session, job_id, caller) -> dict:
        """A job's progress, for a caller with a role that may start its kind; anyone else learns nothing,
        not even that it exists."""
        job = session.get(self.model, job_id) if isinstance(job_id, str) and len(job_id) <= 64 else None
        shown = job is not None and job.kind in self.kinds and caller.has_any(self.kinds[job.kind].roles)
        view = job_view(job) if shown else None
        session.rollback()  # end the read: the view is all the caller gets
        if view is None:
            raise NotFound(f"no job {echo(job_id)}")
        return view

    # --- the loop ----------------------------------------------------------------------------------

    def _loop(self):
        while True:
            try:
                while self.step():
                    eventlet.sleep(0)  # between chunks nothing is held: let RPCs and the relay run
            except Exception:
                log.exception("job runner failed; it tries again next interval")
            if self.wake.ready():
                self.wake.reset()
            self.wake.wait(self.poll_seconds)

    def step(self) -> bool:
        """Run one chunk of the oldest active job no other replica is running; False if there was none (or
        the chunk failed: the next try waits for the next interval)."""
        with self.database.Session() as session:
            job = self._claim(session)
            if job is None:
                return False
            try:
                self._run_chunk(session, job, self.kinds[job.kind])
            except Exception as exc:
                session.rollback()
                self._failed_chunk(job, exc)
                return False
            return True

    def _claim(self, session: Session):
        """The job's row as it stands, with this transaction holding it: on PostgreSQL the row lock (FOR UPDATE
        SKIP LOCKED, so another replica takes another job or waits for the next chunk), on SQLite the write
        lock, taken by the version bump as the transaction's first statement (a read first, then a write,
        fails at once on SQLite when another writer committed in between, instead of waiting its turn)."""
        job_table = self.model
        query = (
            select(*(getattr(job_table, name) for name in CLAIMED))
            .where(job_table.status.in_(ACTIVE), job_table.kind.in_(list(self.kinds)))
            .order_by(job_table.created_at)
            .limit(1)
        )
        postgres = session.get_bind().dialect.name == "postgresql"
        job = session.execute(query.with_for_update(skip_locked=True) if postgres else query).one_or_none()
        if not postgres:
            session.rollback()
        if job is None:
            return None
        bumped = session.execute(
            update(job_table)
            .where(job_table.id == job.id, job_table.version == job.version)
            .values(version=job.version + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if bumped != 1:  # another runner committed a chunk of it since we read it: leave it to them
            session.rollback()
            return None
        return job

    def _run_chunk(self, session: Session, job, spec: JobKind) -> None:
        writer = self.outbox.writer_for(session) if self.outbox is not None else None
        if self.audit is not None:  # a case a chunk moves is audited as any RPC's: by who started the job
            self.audit.watch(session, job.started_by, job.id)
        now = self.now()
        params = json.loads(job.params)
        context = ChunkContext(session, writer, now, params, job.cursor, self.sizes[job.kind], self.container.config)
        chunk = spec.chunk(context)
        crash_point(self.container.service_name, "jobs.before_commit")
        session.execute(
            update(self.model)
            .where(self.model.id == job.id)
            .values(
                cursor=chunk.cursor,
                done=job.done + chunk.done,
                chunks=job.chunks + 1,
                result=json.dumps(_add_counts(json.loads(job.result or "{}"), chunk.counts), ensure_ascii=False),
                status=COMPLETED if chunk.finished else RUNNING,
                failures=0,
                error=None,
                updated_at=now,
                finished_at=now if chunk.finished else None,
            )
            .execution_options(synchronize_session=False)
        )
        session.commit()
        if writer is not None:
            self.outbox.committed(writer)
        crash_point(self.container.service_name, "jobs.after_commit")

    def _failed_chunk(self, job, exc: Exception) -> None:
        # the type only: a driver's message can quote the row it refused
        log.warning("a chunk of job %s (%s) failed (%s); it is tried again", job.id, job.kind, type(exc).__name__)
        failures = job.failures + 1
        now = self.now()
        values = {"failures": failures, "error": type(exc).__name__, "updated_at": now}
        if failures >= MAX_CHUNK_FAILURES:
            values |= {"status": FAILED, "finished_at": now}
        with self.database.Session() as session:
            session.execute(
                update(self.model)
                .where(self.model.id == job.id, self.model.status.in_(ACTIVE))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            session.commit()


CLAIMED = ("id", "kind", "params", "started_by", "cursor", "done", "chunks", "result", "failures", "version")
