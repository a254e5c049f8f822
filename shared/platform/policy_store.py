"""Effective-dated, cited policy values: one table shape and one cached "in force on" lookup for every service.

A service's policy table mixes in `PolicyColumns`: one row per (name, effective_from), its `value` a JSON
document (a number, a switch, or a programme's whole rule set), its `unit` and the `policy_ref` citing where
it comes from. A value holds from its `effective_from` until a later row of the same name supersedes it, so
a new year's figure is a row added by a migration and no code changes.

`PolicyStore(Model).in_force(session, name, on)` is asked on every application, and its answer changes only
when a row is written, so it is cached per database, name and date. A write through the ORM in this process
empties the cache at once (at flush, and again at commit so no concurrent reader re-fills it with the old
row); another replica's write, or one made outside the ORM, is seen within `POLICY_CACHE_SECONDS`. A session
that has written policy rows reads them uncached until it ends: its own rows are not yet anyone else's.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from types import MappingProxyType
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Date, Integer, String, Text, UniqueConstraint, event, select
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column

from shared.platform.errors import BeforeSchemeStart, PolicyMissing

POLICY_CACHE_SECONDS = 30
DOCUMENT = "document"  # the unit of a value that is a JSON document of named settings (housing's programmes)


class PolicyColumns:
    """The columns of a service's policy table (declare `__tablename__` and mix it into the service's Base)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(80))
    effective_from: Mapped[date] = mapped_column(Date)
    value: Mapped[str] = mapped_column(Text)  # JSON
    unit: Mapped[str] = mapped_column(String(20))
    policy_ref: Mapped[str] = mapped_column(String(300))

    @declared_attr.directive
    def __table_args__(cls) -> tuple:
        return (UniqueConstraint("name", "effective_from", name=f"uq_{cls.__tablename__}_name_from"),)


@dataclass(frozen=True)
class PolicyEntry:
    """One row as callers see it: `value` decoded (read-only when it comes from the cache, since one entry is
    then shared by every worker)."""

    id: int
    name: str
    effective_from: date
    value: Any
    unit: str
    policy_ref: str

    @property
    def trace(self) -> str:
        """What a decision records: the row and the document it came from."""
        return f"{self.name}#{self.id} ({self.effective_from.isoformat()}): {self.policy_ref}"


def frozen(value):
    if isinstance(value, dict):
        return MappingProxyType({key: frozen(item) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(frozen(item) for item in value)
    return value


class PolicyStore:
    """The policy rows of one model. `parse_float=Decimal` keeps rates exact where a service computes money
    from them; `monotonic` is the clock the cache's age is read from (tests move it instead of sleeping)."""

    def __init__(
        self,
        model: type,
        *,
        parse_float: Callable[[str], Any] = float,
        cache_seconds: float = POLICY_CACHE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.model, self.parse_float = model, parse_float
        self.cache_seconds, self.monotonic = cache_seconds, monotonic
        # engine → {(name, date): (entry, loaded at)}; an engine is one database, so tests and services with
        # their own databases in one process never see each other's rows
        self._in_force: WeakKeyDictionary = WeakKeyDictionary()
        self._written_key = f"policy_written:{model.__tablename__}"
        for action in ("after_insert", "after_update", "after_delete"):
            event.listen(model, action, self._row_written)

    def entry(self, row) -> PolicyEntry:
        value = json.loads(row.value, parse_float=self.parse_float)
        return PolicyEntry(row.id, row.name, row.effective_from, value, row.unit, row.policy_ref)

    def in_force(self, session: Session, name: str, on: date) -> PolicyEntry:
        """The row of `name` in force on `on`: the latest whose `effective_from` is not after it.
        `BeforeSchemeStart` (naming the first row's date) when `on` is before every row, `PolicyMissing` when
        there is none."""
        if self._writes_policies(session):
            return self._load_in_force(session, name, on)  # may see this transaction's own rows: not for others
        cache = self._in_force.setdefault(session.get_bind(), {})
        cached = cache.get((name, on))
        if cached is not None and self.monotonic() - cached[1] < self.cache_seconds:
            return cached[0]
        loaded = self._load_in_force(session, name, on)
        entry = replace(loaded, value=frozen(loaded.value))
        cache[(name, on)] = (entry, self.monotonic())
        return entry

    def first(self, session: Session, name: str) -> PolicyEntry:
        """The earliest row of `name`: the day a scheme begins."""
        row = session.scalars(
            select(self.model).where(self.model.name == name).order_by(self.model.effective_from).limit(1)
        ).first()
        if row is None:
            raise PolicyMissing(f"no {name} policy")
        return self.entry(row)

    def by_id(self, session: Session, policy_id: int) -> PolicyEntry:
        row = session.get(self.model, policy_id)
        if row is None:
            raise PolicyMissing(f"policy row {policy_id} does not exist")
        return self.entry(row)

    def listing(self, session: Session, name: str | None = None) -> list[PolicyEntry]:
        """Every row (or every row of `name`), by name then oldest first."""
        query = select(self.model).order_by(self.model.name, self.model.effective_from)
        if name:
            query = query.where(self.model.name == name)
        return [self.entry(row) for row in session.scalars(query)]

    def forget(self, session: Session | None = None, *_args) -> None:
        self._in_force.clear()
        if isinstance(session, Session):
            session.info.pop(self._written_key, None)

    def _writes_policies(self, session: Session) -> bool:
        return session.info.get(self._written_key, False) or any(
            isinstance(row, self.model) for rows in (session.new, session.dirty, session.deleted) for row in rows
        )

    def _row_written(self, _mapper, _connection, row) -> None:
        self.forget()
        session = Session.object_session(row)
        if session is not None and not session.info.get(self._written_key):
            session.info[self._written_key] = True
            event.listen(session, "after_commit", self.forget, once=True)
            event.listen(session, "after_rollback", self.forget, once=True)

    def _load_in_force(self, session: Session, name: str, on: date) -> PolicyEntry:
        model = self.model
        row = session.scalars(
            select(model)
            .where(model.name == name, model.effective_from <= on)
            .order_by(model.effective_from.desc())
            .limit(1)
        ).first()
        if row is not None:
            return self.entry(row)
        try:
            begins = self.first(session, name).effective_from.isoformat()
        except PolicyMissing:
            raise PolicyMissing(f"no {name} policy in force on {on.isoformat()}") from None
        message = f"the {name} scheme begins on {begins} in the policy book; {on.isoformat()} is before it"
        raise BeforeSchemeStart(message, begins)
