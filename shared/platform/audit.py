"""Case audit trail: who changed which case from what to what, when, why, under which rule.

    self.audit.record("subsidy_application", app.id, "approved", from_state="submitted",
                      to_state="approved", reason=note, policy_ref=row.ref, changes={"monthly_subsidy_fen": 81200})

The record joins the worker's session, so it commits (or rolls back) with the change it describes. The
table is append-only: no code path updates or deletes it, and a trigger refuses UPDATE and DELETE at the
database (PostgreSQL and SQLite alike). Changed values are masked: an ID number or phone in a change or a
reason never reaches the trail in the clear.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nameko.extensions import DependencyProvider
from sqlalchemy import BigInteger, Index, Integer, String, Text, event, insert, inspect, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared.platform.auth import CONTEXT_KEY, token_cache
from shared.platform.db import database_of
from shared.platform.errors import NotAuthenticated
from shared.platform.models import SharedBase, UtcDateTime, utcnow
from shared.platform.outbox import correlation_id_of
from shared.platform.personal_data import mask_name, mask_text

APPEND_ONLY_MESSAGE = "audit records are append-only"


class AuditRecord(SharedBase):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    case_type: Mapped[str] = mapped_column(String(50))
    case_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(50))
    from_state: Mapped[str | None] = mapped_column(String(50), nullable=True)
    to_state: Mapped[str | None] = mapped_column(String(50), nullable=True)
    changes: Mapped[str] = mapped_column(Text, default="{}")
    actor: Mapped[str] = mapped_column(String(200))
    actor_roles: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    policy_ref: Mapped[str | None] = mapped_column(String(200), nullable=True)
    correlation_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (Index("ix_audit_case", "case_type", "case_id", "id"),)

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "case_type": self.case_type,
            "case_id": self.case_id,
            "action": self.action,
            "from_state": self.from_state,
            "to_state": self.to_state,
            "changes": json.loads(self.changes or "{}"),
            "actor": self.actor,
            "actor_roles": [r for r in self.actor_roles.split(",") if r],
            "reason": self.reason,
            "policy_ref": self.policy_ref,
            "correlation_id": self.correlation_id,
            "recorded_at": self.recorded_at.isoformat() if self.recorded_at else None,
        }


def mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {key: mask_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


class AuditTrail:
    """What a worker sees as `self.audit`."""

    def __init__(
        self,
        session: Session,
        actor: str,
        roles: tuple[str, ...],
        correlation_id: str | None,
        cases: dict | None = None,
    ):
        self._session = session
        self.actor = actor
        self.roles = roles
        self.correlation_id = correlation_id
        self.cases = cases or {}

    def record(
        self,
        case_type: str,
        case_id: str,
        action: str,
        from_state: str | None = None,
        to_state: str | None = None,
        changes: dict | None = None,
        reason: str | None = None,
        policy_ref: str | None = None,
    ) -> AuditRecord:
        entry = AuditRecord(
            **self._columns(case_type, case_id, action, from_state, to_state, changes, reason, policy_ref)
        )
        self._session.add(entry)
        return entry

    def record_created(self, model, values: dict) -> None:
        """For a case row inserted with Core (no flush sees it): the record the automatic audit would have
        written for a new `model` object with these column values, inserted now, in the same transaction."""
        case = self.cases[model]
        changes = {
            key: mask_name(value) if key in case.name_fields else value
            for key, value in values.items()
            if key != "status" and not key.endswith(SKIPPED_FIELDS)
        }
        reason = next((values[field] for field in case.reason_fields if values.get(field)), None)
        columns = self._columns(
            case.case_type,
            values["id"],
            values["status"],
            None,
            values["status"],
            changes,
            None if reason is None else str(reason),
            values.get("policy_ref"),
        )
        self._session.execute(insert(AuditRecord.__table__), columns)

    def _columns(self, case_type, case_id, action, from_state, to_state, changes, reason, policy_ref) -> dict:
        return {
            "case_type": case_type,
            "case_id": str(case_id),
            "action": action,
            "from_state": from_state,
            "to_state": to_state,
            "changes": json.dumps(mask_value(changes or {}), ensure_ascii=False, sort_keys=True, default=str),
            "actor": self.actor,
            "actor_roles": ",".join(self.roles),
            "reason": mask_text(reason) if reason else None,
            "policy_ref": policy_ref[:200] if policy_ref else None,
            "correlation_id": self.correlation_id,
            "recorded_at": utcnow(),
        }


def case_history(session: Session, case_type: str, case_id: str) -> list[dict]:
    rows = session.scalars(
        select(AuditRecord)
        .where(AuditRecord.case_type == case_type, AuditRecord.case_id == str(case_id))
        .order_by(AuditRecord.id)
    )
    return [row.as_dict() for row in rows]


@dataclass(frozen=True)
class AuditedCase:
    """A model whose `status` changes are recorded automatically, at flush, in the same transaction."""

    case_type: str
    reason_fields: tuple[str, ...] = ()  # the first of these set in the change is its "why"
    # a person's name: the trail is append-only, so a name written in the clear would outlive the case's
    # erasure; it keeps only the masked form (王**)
    name_fields: tuple[str, ...] = ()


SKIPPED_FIELDS = ("_encrypted", "_index", "_hash")  # ciphertext and keyed indexes say nothing to a reader


def record_status_changes(trail: AuditTrail, cases: dict, session: Session) -> None:
    """Before each flush: one audit record per audited object created or moved to another status."""
    for obj in list(session.new) + list(session.dirty):
        case = cases.get(type(obj))
        if case is None:
            continue
        state = inspect(obj)
        status = state.attrs.status.history
        if obj in session.new:
            from_state, to_state = None, obj.status
        elif status.has_changes() and status.deleted:
            from_state, to_state = status.deleted[0], obj.status
        else:
            continue
        changes = {
            attr.key: mask_name(attr.value) if attr.key in case.name_fields else attr.value
            for attr in state.attrs
            if attr.history.has_changes() and not attr.key.endswith(SKIPPED_FIELDS) and attr.key != "status"
        }
        reason = next(
            (getattr(obj, field) for field in case.reason_fields if field in changes and getattr(obj, field)), None
        )
        trail.record(
            case.case_type,
            obj.id,
            to_state,
            from_state=from_state,
            to_state=to_state,
            changes=changes,
            reason=None if reason is None else str(reason),
            policy_ref=getattr(obj, "policy_ref", None),
        )


TRAIL_KEY = "audit_trail"


def record_inserted(session: Session, model, values: dict) -> None:
    """A case row of `model` was INSERTed with Core: record it as the automatic audit records a new object,
    in the same transaction. Where no automatic audit watches the session (or not this model), nothing."""
    trail = session.info.get(TRAIL_KEY)
    if trail is not None and model in trail.cases:
        trail.record_created(model, values)


class Audit(DependencyProvider):
    """`self.audit`; the actor is the caller token's subject, or `system:<entrypoint>` for timers and events.

    `Audit({Model: AuditedCase("subsidy_application", ("review_note",)), ...})` also records every status
    change of those models by itself, so no code path that changes a case can forget its record. A path
    that INSERTs such rows with Core (no flush sees them) calls `record_inserted` for each.
    """

    def __init__(self, cases: dict | None = None, database_attr: str = "db"):
        self.cases = cases or {}
        self.database_attr = database_attr

    def setup(self):
        self.tokens = token_cache(self.container.config)
        self.database = database_of(self.container, self.database_attr)

    def get_dependency(self, worker_ctx) -> AuditTrail:
        actor, roles = f"system:{worker_ctx.entrypoint.method_name}", ()
        token = worker_ctx.context_data.get(CONTEXT_KEY)
        if token:
            try:
                caller = self.tokens.caller(token)
                actor, roles = caller.subject, tuple(sorted(caller.roles))
            except NotAuthenticated:
                pass  # the entrypoint's own @requires refuses it; the trail never records a forged name
        session = self.database.session_for(worker_ctx)
        trail = AuditTrail(session, actor, roles, correlation_id_of(worker_ctx), self.cases)
        if self.cases:
            session.info[TRAIL_KEY] = trail  # read by the flush listener, and for rows written with Core
        return trail

    def watch(self, session: Session, actor: str, correlation_id: str | None) -> None:
        """Record the status changes of a session no worker owns (a job's chunk): `actor` is who started it."""
        if self.cases:
            session.info[TRAIL_KEY] = AuditTrail(session, actor, (), correlation_id, self.cases)

    def start(self):
        if self.cases:  # one listener on the session factory, not one per worker session
            event.listen(self.database.Session, "before_flush", self._before_flush)

    def _before_flush(self, session: Session, _context, _instances) -> None:
        trail = session.info.get(TRAIL_KEY)
        if trail is not None:
            record_status_changes(trail, self.cases, session)


POSTGRES_GUARD = [
    f"""CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}'; END; $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log",
    """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
    "DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log",
    """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""",
]
SQLITE_GUARD = [
    f"""CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END""",
]


def install_append_only_guard(connection) -> None:
    statements = POSTGRES_GUARD if connection.dialect.name == "postgresql" else SQLITE_GUARD
    for statement in statements:
        connection.exec_driver_sql(statement)
