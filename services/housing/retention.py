"""What housing keeps about a person, and for how long once their case is closed.

A closed rent-subsidy case (rejected, ended, or ineligible and not appealed) keeps its facts, amounts,
decisions and audit trail, and its `resident_id` pseudonym, so figures and appeals history stay whole; after
`RETENTION_DAYS.closed_case_identity` (default 5 years) its name, ID number and phone (ciphertexts and
look-up indexes) are erased. The masked forms (`110105********002X`, `138****5678`) stay for the record.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select, update

from services.housing.models import SubsidyApplication
from shared.retention import RetentionRule

ERASED = "erased"
CLOSED = ("rejected", "ended", "ineligible")
FIVE_YEARS = 5 * 365


def _closed_case_identities_due(cutoff):
    closed_at = func.coalesce(
        SubsidyApplication.ended_at, SubsidyApplication.reviewed_at, SubsidyApplication.submitted_at
    )
    return select(SubsidyApplication.id).where(
        SubsidyApplication.status.in_(CLOSED),
        closed_at < cutoff,
        or_(SubsidyApplication.id_number_encrypted != ERASED, SubsidyApplication.phone_encrypted != ERASED),
    )


def _erase_identities(session, ids) -> None:
    session.execute(
        update(SubsidyApplication)
        .where(SubsidyApplication.id.in_(ids))
        .values(id_number_encrypted=ERASED, phone_encrypted=ERASED, phone_index=ERASED, name="（已删除）")
    )


RULES = (
    RetentionRule(
        "closed_case_identity",
        FIVE_YEARS,
        due=_closed_case_identities_due,
        erase=_erase_identities,
        description="name, ID number and phone of closed rent-subsidy cases",
    ),
)
