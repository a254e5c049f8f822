"""The versioned policy table: which rules were in force on a date, and a readable handle on them.

Every threshold, switch and amount of the three programmes is a JSON document in `policy_versions`
(seeded by migration `housing_0002`, changed by adding a row with a later `effective_from`).

`policy_in_force` is asked twice per application (submit and approve) and the answer changes only when
a row is written, so it is cached per database, programme and date. A write through the ORM in this
process empties the cache at once (at flush, and again at commit so no concurrent reader re-fills it
with the old row); another replica's write, or one made outside the ORM, is seen within
`POLICY_CACHE_SECONDS`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from types import MappingProxyType
from weakref import WeakKeyDictionary

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from services.housing.exceptions import BeforeSchemeStart, PolicyMissing
from services.housing.models import PolicyVersion
from shared.platform.errors import ValidationError

RENT_SUBSIDY = "rent_subsidy"
TENANCY = "tenancy"
OPERATOR_SUBSIDY = "operator_subsidy"
POLICY_CACHE_SECONDS = 30


@dataclass(frozen=True)
class Policy:
    id: int
    programme: str
    effective_from: date
    policy_ref: str
    rules: Mapping  # read-only when it comes from the cache: one Policy is then shared by every worker

    def __getitem__(self, key: str):
        return self.rules[key]

    def get(self, key: str, default=None):
        return self.rules.get(key, default)

    @property
    def trace(self) -> str:
        """What an amount records: the row and the document it came from."""
        return f"{self.programme}#{self.id} ({self.effective_from.isoformat()}): {self.policy_ref}"


def to_policy(row: PolicyVersion) -> Policy:
    return Policy(row.id, row.programme, row.effective_from, row.policy_ref, json.loads(row.rules))


def _frozen(value):
    if isinstance(value, dict):
        return MappingProxyType({key: _frozen(item) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(item) for item in value)
    return value


# engine → {(programme, date): (Policy, loaded at)}; an engine is one database, so tests and services
# with their own databases in one process never see each other's rows
_in_force: WeakKeyDictionary = WeakKeyDictionary()


def policy_in_force(session: Session, programme: str, on: date) -> Policy:
    if _writes_policies(session):
        return _load_in_force(session, programme, on)  # may see this transaction's own rows: not for others
    cache = _in_force.setdefault(session.get_bind(), {})
    cached = cache.get((programme, on))
    if cached is not None and time.monotonic() - cached[1] < POLICY_CACHE_SECONDS:
        return cached[0]
    policy = _load_in_force(session, programme, on)
    policy = replace(policy, rules=_frozen(policy.rules))
    cache[(programme, on)] = (policy, time.monotonic())
    return policy


def _writes_policies(session: Session) -> bool:
    return session.info.get(_WRITTEN, False) or any(
        isinstance(row, PolicyVersion) for rows in (session.new, session.dirty, session.deleted) for row in rows
    )


def forget_policies(session: Session | None = None, *_args) -> None:
    _in_force.clear()
    if isinstance(session, Session):
        session.info.pop(_WRITTEN, None)


_WRITTEN = "policy_written"


@event.listens_for(PolicyVersion, "after_insert")
@event.listens_for(PolicyVersion, "after_update")
@event.listens_for(PolicyVersion, "after_delete")
def _policy_written(_mapper, _connection, row: PolicyVersion) -> None:
    forget_policies()
    session = Session.object_session(row)
    if session is not None and not session.info.get(_WRITTEN):
        session.info[_WRITTEN] = True
        event.listen(session, "after_commit", forget_policies, once=True)
        event.listen(session, "after_rollback", forget_policies, once=True)


def _load_in_force(session: Session, programme: str, on: date) -> Policy:
    row = session.scalars(
        select(PolicyVersion)
        .where(PolicyVersion.programme == programme, PolicyVersion.effective_from <= on)
        .order_by(PolicyVersion.effective_from.desc())
        .limit(1)
    ).first()
    if row is None:
        first = session.scalar(
            select(func.min(PolicyVersion.effective_from)).where(PolicyVersion.programme == programme)
        )
        if first is not None:
            begins = first.isoformat()
            message = f"the {programme} scheme begins on {begins} in the policy book; {on.isoformat()} is before it"
            raise BeforeSchemeStart(message, begins)
        raise PolicyMissing(f"no {programme} policy in force on {on.isoformat()}")
    return to_policy(row)


def policy_by_id(session: Session, policy_id: int) -> Policy:
    row = session.get(PolicyVersion, policy_id)
    if row is None:
        raise PolicyMissing(f"policy row {policy_id} does not exist")
    return to_policy(row)


def list_policies(session: Session, programme: str | None = None) -> list[Policy]:
    query = select(PolicyVersion).order_by(PolicyVersion.programme, PolicyVersion.effective_from)
    if programme:
        query = query.where(PolicyVersion.programme == programme)
    return [to_policy(row) for row in session.scalars(query)]


def policies_listed(session: Session, programme=None) -> list[dict]:
    """What `list_policies` answers: every version of a programme's rules (or of all), oldest first."""
    if programme is not None and (not isinstance(programme, str) or len(programme) > 50):
        raise ValidationError({"programme": ["Must be a programme name."]})
    return [
        {
            "id": policy.id,
            "programme": policy.programme,
            "effective_from": policy.effective_from.isoformat(),
            "policy_ref": policy.policy_ref,
            "rules": policy.rules,
        }
        for policy in list_policies(session, programme)
    ]
