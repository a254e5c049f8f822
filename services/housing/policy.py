"""The versioned policy table: which rules were in force on a date, and a readable handle on them.

Every threshold, switch and amount of the three programmes is a JSON document in `policy_versions`
(seeded by migration `housing_0002`, changed by adding a row with a later `effective_from`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.housing.exceptions import PolicyMissing
from services.housing.models import PolicyVersion

RENT_SUBSIDY = "rent_subsidy"
TENANCY = "tenancy"
OPERATOR_SUBSIDY = "operator_subsidy"


@dataclass(frozen=True)
class Policy:
    id: int
    programme: str
    effective_from: date
    policy_ref: str
    rules: dict

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


def policy_in_force(session: Session, programme: str, on: date) -> Policy:
    row = session.scalars(
        select(PolicyVersion)
        .where(PolicyVersion.programme == programme, PolicyVersion.effective_from <= on)
        .order_by(PolicyVersion.effective_from.desc())
        .limit(1)
    ).first()
    if row is None:
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
