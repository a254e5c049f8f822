"""Appeals (复核申请) against a refusal: one mechanism, each service with its own `appeals` table.

    class Appeal(AppealColumns, Base):          # services/<svc>/models.py
        __tablename__ = "appeals"

    Appeals(session, outbox, Appeal, cases, AppealSettings.from_config(config), now).lodge(caller, ...)

The service supplies `cases` (see `AppealableCases`): what the refusal was and who made it, and what
reversing it means (its normal approval path, with its normal events). This module owns the rest:

    received ──start_review──► under_review ──decide──► upheld | dismissed   (reasons required)

* lodged by the resident who acts for the case or by a caseworker, with a statement, within
  `APPEAL_WINDOW_DAYS` (default 60) calendar days of the decision (Asia/Shanghai; day 60 is in time);
* one open appeal per case (a partial unique index makes it hold under races); a dismissal is final;
* due `APPEAL_DUE_DAYS` (default 30) calendar days after receipt; `overdue` while open after that day;
* the reviewer is not the person who made the original decision, submitted the case or lodged the appeal;
* `decide` repeated with the same outcome changes nothing and publishes nothing (a retried call);
* events `appeal_received`, `appeal_upheld`, `appeal_dismissed` go through the outbox with the change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from sqlalchemy import Date, Index, Integer, String, Text, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column
from sqlalchemy.orm.exc import StaleDataError

from shared.platform.auth import Caller, requires
from shared.platform.clock import local_date
from shared.platform.errors import Conflict, InvalidTransition, MakerCheckerViolation, NotFound, ValidationError
from shared.platform.ids import new_id
from shared.platform.models import UtcDateTime
from shared.platform.personal_data import mask_text
from shared.platform.retention import Kept
from shared.platform.rpc import rpc
from shared.platform.unit_of_work import transactional
from shared.platform.validation import echo, text_problem

RECEIVED, UNDER_REVIEW, UPHELD, DISMISSED = "received", "under_review", "upheld", "dismissed"
STATUSES = (RECEIVED, UNDER_REVIEW, UPHELD, DISMISSED)
OPEN = (RECEIVED, UNDER_REVIEW)
OUTCOMES = (UPHELD, DISMISSED)
DEFAULT_WINDOW_DAYS = 60
DEFAULT_DUE_DAYS = 30
MAX_STATEMENT = 2000
MAX_REASONS, MAX_REASON = 10, 500
MAX_PAGE_SIZE = 200
OPEN_SQL = "status IN ('received', 'under_review')"


class AppealNotFound(NotFound):
    """No such appeal (or the caller may not see it)."""


class NotAppealable(Conflict):
    """The case is not in a refused state that may be appealed."""


class AppealWindowClosed(Conflict):
    """The decision is older than the appeal window."""


class AppealExists(Conflict):
    """The case already has an open appeal, or this decision was already appealed."""


class AppealColumns:
    """The columns of every service's `appeals` table (`shared.cixi.appeals_table.create_appeals_table` builds it)."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_type: Mapped[str] = mapped_column(String(50))
    case_id: Mapped[str] = mapped_column(String(64))
    resident_id: Mapped[str] = mapped_column(String(64), index=True)
    guardian_resident_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # who acts for a child
    owner_subject: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    town: Mapped[str | None] = mapped_column(String(20), nullable=True)
    status: Mapped[str] = mapped_column(String(20))
    statement: Mapped[str] = mapped_column(Text)
    lodged_by: Mapped[str] = mapped_column(String(100))
    refusal: Mapped[str] = mapped_column(String(20))  # the case's status when appealed
    refused_at: Mapped[datetime] = mapped_column(UtcDateTime)
    refused_by: Mapped[str | None] = mapped_column(String(100), nullable=True)  # None: the eligibility rules
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_on: Mapped[date] = mapped_column(Date)
    reviewer: Mapped[str | None] = mapped_column(String(100), nullable=True)
    review_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    reasons: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON list
    version: Mapped[int] = mapped_column(Integer, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict:
        return {"version_id_col": cls.version}

    @declared_attr.directive
    def __table_args__(cls) -> tuple:
        return (
            # one open appeal per case, even when two are lodged at once
            Index(
                "uq_appeals_open_case",
                "case_type",
                "case_id",
                unique=True,
                sqlite_where=text(OPEN_SQL),
                postgresql_where=text(OPEN_SQL),
            ),
            Index("ix_appeals_case", "case_type", "case_id"),
            Index("ix_appeals_status_due", "status", "due_on"),
        )


@dataclass(frozen=True)
class Refusal:
    """The decision an appeal is lodged against, as the service that owns the case knows it.

    A naive `decided_at` (SQLite hands back no offset) is read as UTC.
    """

    case_type: str
    case_id: str
    resident_id: str
    owner: str | None  # the token subject of the resident who acts for the case
    town: str | None
    status: str
    decided_at: datetime
    decided_by: str | None  # None: refused by the eligibility rules at submission
    submitted_by: str | None
    guardian_resident_id: str | None = None  # a child's case: the parent who applied (the one to tell)

    def __post_init__(self):
        if self.decided_at.tzinfo is None:
            object.__setattr__(self, "decided_at", self.decided_at.replace(tzinfo=UTC))


class AppealableCases(Protocol):
    """What a service tells the mechanism about its cases."""

    case_types: tuple[str, ...]
    refusals: tuple[str, ...]  # the case statuses that may be appealed

    def refusal(self, case_type: str, case_id: str) -> Refusal | None:
        """The case's last decision (`status` its current status); None when there is no such case."""

    def reverse(self, appeal, caller: Caller, now: datetime) -> None:
        """Reverse the refusal through the service's normal path (its events into the outbox); no commit."""


@dataclass(frozen=True)
class AppealSettings:
    window_days: int = DEFAULT_WINDOW_DAYS
    due_days: int = DEFAULT_DUE_DAYS

    @classmethod
    def from_config(cls, config) -> AppealSettings:
        return cls(
            int(config.get("APPEAL_WINDOW_DAYS", DEFAULT_WINDOW_DAYS)),
            int(config.get("APPEAL_DUE_DAYS", DEFAULT_DUE_DAYS)),
        )

    def last_day(self, refusal: Refusal) -> date:
        return local_date(refusal.decided_at) + timedelta(days=self.window_days)

    def due_on(self, received_at: datetime) -> date:
        return local_date(received_at) + timedelta(days=self.due_days)


def is_overdue(appeal, now: datetime) -> bool:
    return appeal.status in OPEN and local_date(now) > appeal.due_on


def view(appeal, now: datetime) -> dict:
    def iso(value):
        return value.isoformat() if value is not None else None

    return {
        "appeal_id": appeal.id,
        "case_type": appeal.case_type,
        "case_id": appeal.case_id,
        "resident_id": appeal.resident_id,
        "status": appeal.status,
        "statement": appeal.statement,
        "lodged_by": appeal.lodged_by,
        "refusal": appeal.refusal,
        "refused_at": iso(appeal.refused_at),
        "refused_by": appeal.refused_by,
        "received_at": iso(appeal.received_at),
        "due_on": iso(appeal.due_on),
        "overdue": is_overdue(appeal, now),
        "reviewer": appeal.reviewer,
        "review_started_at": iso(appeal.review_started_at),
        "decided_by": appeal.decided_by,
        "decided_at": iso(appeal.decided_at),
        "reasons": json.loads(appeal.reasons) if appeal.reasons else [],
    }


def event_data(appeal) -> dict:
    """No personal data in the clear: the person as `resident_id`, reasons masked."""
    data = {
        "appeal_id": appeal.id,
        "case_type": appeal.case_type,
        "case_id": appeal.case_id,
        "resident_id": appeal.resident_id,
        "guardian_resident_id": appeal.guardian_resident_id,
        "town": appeal.town,
        "received_at": appeal.received_at.isoformat(),
        "due_on": appeal.due_on.isoformat(),
    }
    if appeal.status in OUTCOMES:
        reasons = [mask_text(reason) for reason in json.loads(appeal.reasons)]
        data.update(decided_at=appeal.decided_at.isoformat(), reasons=reasons)
    return data


def _text(value, limit: int) -> bool:
    return text_problem(value, limit, min_length=1, multiline=True) is None


def _check(errors: dict) -> None:
    if errors:
        raise ValidationError(errors)


class Appeals:
    """One worker's appeal desk: every mutating step is `@transactional`, its change and its event together."""

    def __init__(self, session: Session, outbox, model, cases: AppealableCases, settings: AppealSettings, now):
        self.db, self.outbox, self.model, self.cases, self.settings, self.now = (
            session,
            outbox,
            model,
            cases,
            settings,
            now,
        )

    @transactional
    def lodge(self, caller: Caller, case_type, case_id, statement) -> dict:
        errors = {}
        if case_type not in self.cases.case_types:
            errors["case_type"] = [f"Must be one of {', '.join(self.cases.case_types)}."]
        if not isinstance(case_id, str) or not 0 < len(case_id) <= 64:
            errors["case_id"] = ["Must be a case id string."]
        if not _text(statement, MAX_STATEMENT):
            errors["statement"] = [f"An appeal needs a statement of its grounds (at most {MAX_STATEMENT} characters)."]
        _check(errors)
        return self._written(self._lodge(caller, case_type, case_id, statement.strip()))

    def _lodge(self, caller: Caller, case_type: str, case_id: str, statement: str) -> dict:
        refusal = self.cases.refusal(case_type, case_id)
        if refusal is None or not (caller.is_staff or caller.subject == refusal.owner):
            raise NotFound(f"no {case_type} {echo(case_id)}")
        if refusal.status not in self.cases.refusals:
            raise NotAppealable(f"{case_type} {case_id} is {refusal.status}; only a refusal may be appealed")
        if local_date(self.now) > self.settings.last_day(refusal):
            raise AppealWindowClosed(
                f"{case_type} {case_id} was {refusal.status} on {local_date(refusal.decided_at)}; appeals close"
                f" {self.settings.window_days} days after the decision"
            )
        earlier = self.db.scalars(
            select(self.model).where(self.model.case_type == case_type, self.model.case_id == case_id)
        ).all()
        for appeal in earlier:
            if appeal.status != UPHELD:  # open, or dismissed: a dismissal is final for the decision
                raise AppealExists(f"{case_type} {case_id} already has appeal {appeal.id} ({appeal.status})")
        appeal = self.model(
            id=new_id(),
            case_type=case_type,
            case_id=case_id,
            resident_id=refusal.resident_id,
            guardian_resident_id=refusal.guardian_resident_id,
            owner_subject=refusal.owner,
            town=refusal.town,
            status=RECEIVED,
            statement=statement,
            lodged_by=caller.subject,
            refusal=refusal.status,
            refused_at=refusal.decided_at,
            refused_by=refusal.decided_by,
            received_at=self.now,
            due_on=self.settings.due_on(self.now),
        )
        self.db.add(appeal)
        try:
            self.db.flush()
        except IntegrityError:
            raise AppealExists(f"{case_type} {case_id} already has an open appeal") from None
        self.outbox.add("appeal_received", event_data(appeal))
        return view(appeal, self.now)

    @transactional
    def start_review(self, caller: Caller, appeal_id) -> dict:
        return self._written(self._start_review(caller, appeal_id))

    def _start_review(self, caller: Caller, appeal_id) -> dict:
        appeal = self._load(caller, appeal_id, for_update=True)
        if appeal.status == UNDER_REVIEW and appeal.reviewer == caller.subject:
            return view(appeal, self.now)  # a retried call
        if appeal.status != RECEIVED:
            raise InvalidTransition(f"appeal {appeal.id} is {appeal.status}; only a received appeal starts review")
        self._refuse_conflicted(caller, appeal)
        appeal.status, appeal.reviewer, appeal.review_started_at = UNDER_REVIEW, caller.subject, self.now
        return view(appeal, self.now)

    @transactional
    def decide(self, caller: Caller, appeal_id, outcome, reasons) -> dict:
        errors = {}
        if outcome not in OUTCOMES:
            errors["outcome"] = [f'Must be "{UPHELD}" or "{DISMISSED}".']
        if (
            not isinstance(reasons, list)
            or not 0 < len(reasons) <= MAX_REASONS
            or not all(_text(reason, MAX_REASON) for reason in reasons)
        ):
            errors["reasons"] = [f"Must be a list of 1 to {MAX_REASONS} reasons, each at most {MAX_REASON} characters."]
        _check(errors)
        return self._written(self._decide(caller, appeal_id, outcome, [reason.strip() for reason in reasons]))

    def _decide(self, caller: Caller, appeal_id, outcome: str, reasons: list[str]) -> dict:
        appeal = self._load(caller, appeal_id, for_update=True)
        if appeal.status == outcome:
            return view(appeal, self.now)  # a retried call: the effects happened once, with the first
        if appeal.status != UNDER_REVIEW:
            raise InvalidTransition(f"appeal {appeal.id} is {appeal.status}; only one under review is decided")
        self._refuse_conflicted(caller, appeal)
        appeal.status, appeal.decided_by, appeal.decided_at = outcome, caller.subject, self.now
        appeal.reasons = json.dumps(reasons, ensure_ascii=False)
        if outcome == UPHELD:
            self.cases.reverse(appeal, caller, self.now)
        self.outbox.add(f"appeal_{outcome}", event_data(appeal))
        return view(appeal, self.now)

    def get(self, caller: Caller, appeal_id) -> dict:
        return view(self._load(caller, appeal_id), self.now)

    def list(self, caller: Caller, status=None, case_type=None, case_id=None, overdue=None, page=1, page_size=50):
        errors = {}
        if status is not None and status not in STATUSES:
            errors["status"] = [f"Must be one of {', '.join(STATUSES)}."]
        if case_type is not None and case_type not in self.cases.case_types:
            errors["case_type"] = [f"Must be one of {', '.join(self.cases.case_types)}."]
        if case_id is not None and (not isinstance(case_id, str) or len(case_id) > 64):
            errors["case_id"] = ["Must be a case id string."]
        if overdue is not None and not isinstance(overdue, bool):
            errors["overdue"] = ["Must be true or false."]
        for name, value in (("page", page), ("page_size", page_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                errors[name] = ["Must be a positive integer."]
        if isinstance(page_size, int) and page_size > MAX_PAGE_SIZE:
            errors["page_size"] = [f"Must be at most {MAX_PAGE_SIZE}."]
        _check(errors)
        model = self.model
        query = select(model)
        for column, value in (("status", status), ("case_type", case_type), ("case_id", case_id)):
            if value is not None:
                query = query.where(getattr(model, column) == value)
        if overdue is not None:
            late = model.status.in_(OPEN) & (model.due_on < local_date(self.now))
            query = query.where(late if overdue else ~late)
        if not caller.is_staff:
            query = query.where(model.owner_subject == caller.subject)
        total = self.db.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = self.db.scalars(
            query.order_by(model.due_on, model.received_at, model.id).offset((page - 1) * page_size).limit(page_size)
        ).all()
        return {"items": [view(row, self.now) for row in rows], "page": page, "page_size": page_size, "total": total}

    def _load(self, caller: Caller, appeal_id, for_update: bool = False):
        if not isinstance(appeal_id, str) or len(appeal_id) > 36:
            raise ValidationError({"appeal_id": ["Must be an appeal id string."]})
        query = select(self.model).where(self.model.id == appeal_id)
        appeal = self.db.scalars(query.with_for_update() if for_update else query).first()
        if appeal is None or not (caller.is_staff or caller.subject == appeal.owner_subject):
            raise AppealNotFound(f"no appeal {appeal_id}")
        return appeal

    def _refuse_conflicted(self, caller: Caller, appeal) -> None:
        if caller.subject == appeal.refused_by:
            raise MakerCheckerViolation(f"{caller.subject} made the decision under appeal {appeal.id}")
        refusal = self.cases.refusal(appeal.case_type, appeal.case_id)
        if caller.subject in (appeal.lodged_by, refusal.submitted_by if refusal else None):
            raise MakerCheckerViolation(f"{caller.subject} submitted the case or lodged appeal {appeal.id}")

    def _written(self, result: dict) -> dict:
        """Flush the step before `@transactional` commits it, so that an appeal another reviewer moved between
        our read and our write is refused as such."""
        try:
            self.db.flush()
        except StaleDataError:
            raise InvalidTransition("the appeal was changed concurrently; read it again") from None
        return result


class AppealDesk:
    """Mixed into a `PlatformService` with appealable cases: the appeal RPCs, the same in every service.

    The service sets `appeal_model` and implements `appeal_cases()`; it needs `db`, `outbox`, `clock`.
    The methods become entrypoints on the service class only (see `PlatformService.__init_subclass__`).
    """

    appeal_model = None
    extra_entrypoints = (
        *((name, lambda: rpc) for name in ("lodge_appeal", "start_appeal_review", "decide_appeal")),
        *((name, lambda: rpc(read_only=True)) for name in ("get_appeal", "list_appeals")),
    )

    def appeal_cases(self) -> AppealableCases:
        raise NotImplementedError

    def _appeals(self) -> Appeals:
        settings = AppealSettings.from_config(self.config)
        return Appeals(self.db, self.outbox, self.appeal_model, self.appeal_cases(), settings, self.clock.now())

    @requires("caseworker", "resident")
    def lodge_appeal(self, case_type, case_id, statement) -> dict:
        return self._appeals().lodge(self.auth.caller, case_type, case_id, statement)

    @requires("reviewer")
    def start_appeal_review(self, appeal_id) -> dict:
        return self._appeals().start_review(self.auth.caller, appeal_id)

    @requires("reviewer")
    def decide_appeal(self, appeal_id, outcome, reasons) -> dict:
        return self._appeals().decide(self.auth.caller, appeal_id, outcome, reasons)

    @requires("caseworker", "reviewer", "resident")
    def get_appeal(self, appeal_id) -> dict:
        return self._appeals().get(self.auth.caller, appeal_id)

    @requires("caseworker", "reviewer", "resident")
    def list_appeals(self, status=None, case_type=None, case_id=None, overdue=None, page=1, page_size=50) -> dict:
        return self._appeals().list(self.auth.caller, status, case_type, case_id, overdue, page, page_size)


def kept_appeals(*tables: str) -> Kept:
    """An appeal is kept with its case: the statement is part of the decision record (docs/privacy.md)."""
    return Kept("appeals", "kept: with the case (the statement is part of the decision record)",
                "appeal statements and reasons; the person as resident_id", tables)  # fmt: skip
