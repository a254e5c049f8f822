"""Housing's policy rows: which rules of a programme were in force on a date, and a readable handle on them.

Every threshold, switch and amount of the three programmes is one JSON document per programme and
effective date in `policy_versions` (seeded by migration `housing_0002`, changed by adding a row with a
later `effective_from`), read through the shared policy store (shared/platform/policy_store.py): cached per database,
programme and date, emptied by a write through the ORM, another replica's write seen within
`POLICY_CACHE_SECONDS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from services.housing.models import PolicyVersion
from shared.platform.errors import ValidationError
from shared.platform.policy_store import POLICY_CACHE_SECONDS, PolicyEntry, PolicyStore  # noqa: F401  (the TTL, for readers)

RENT_SUBSIDY = "rent_subsidy"
TENANCY = "tenancy"
OPERATOR_SUBSIDY = "operator_subsidy"

STORE = PolicyStore(PolicyVersion)


@dataclass(frozen=True)
class Policy:
    id: int
    programme: str
    effective_from: date
    policy_ref: str
    rules: Mapping  # read-only when it comes from the cache: one Policy is then shared by every worker
    trace: str  # what an amount records: the row and the document it came from

    def __getitem__(self, key: str):
        return self.rules[key]

    def get(self, key: str, default=None):
        return self.rules.get(key, default)


def to_policy(entry: PolicyEntry) -> Policy:
    return Policy(entry.id, entry.name, entry.effective_from, entry.policy_ref, entry.value, entry.trace)


def policy_in_force(session: Session, programme: str, on: date) -> Policy:
    return to_policy(STORE.in_force(session, programme, on))


def policy_by_id(session: Session, policy_id: int) -> Policy:
    return to_policy(STORE.by_id(session, policy_id))


def list_policies(session: Session, programme: str | None = None) -> list[Policy]:
    return [to_policy(entry) for entry in STORE.listing(session, programme)]


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
