"""What housing keeps about a person, and for how long once their case is closed.

A closed rent-subsidy case (rejected, ended, or ineligible and not appealed) keeps its facts, amounts,
decisions and audit trail, and its `resident_id` pseudonym, so figures and appeals history stay whole; after
`RETENTION_DAYS.closed_case_identity` (default 5 years) its name, ID number and phone (ciphertexts and
look-up indexes) are erased. The masked forms (`110105********002X`, `138****5678`) stay for the record.
A closed tenancy application (ineligible, or allocated and its tenancy ended) loses the same after
`RETENTION_DAYS.closed_tenancy_identity` (default 5 years), counted from its refusal or the tenancy's end.
A closed case's re-certifications lose the reviewer's note about the household after
`RETENTION_DAYS.closed_case_recertification_notes` (default 5 years, as the case); the changed facts, amounts,
terms and who proposed and reviewed them stay with the decision record.
"""

from __future__ import annotations

from sqlalchemy import and_, exists, func, or_, select, update

from services.housing.models import SubsidyApplication, SubsidyRecertification, Tenancy, TenancyApplication
from services.housing.tenancy import ALLOCATED, INELIGIBLE
from shared.cixi.appeals import kept_appeals
from shared.platform.retention import RetentionRule, kept_pseudonyms

ERASED = "erased"
ERASED_NOTE = "（已按保存期限删除）"
CLOSED = ("rejected", "ended", "ineligible")
FIVE_YEARS = 5 * 365


def _not_erased(model):
    return or_(model.id_number_encrypted != ERASED, model.phone_encrypted != ERASED)


def _case_closed_before(cutoff):
    closed_at = func.coalesce(
        SubsidyApplication.ended_at, SubsidyApplication.reviewed_at, SubsidyApplication.submitted_at
    )
    return and_(SubsidyApplication.status.in_(CLOSED), closed_at < cutoff)


def _closed_case_identities_due(cutoff):
    return select(SubsidyApplication.id).where(_case_closed_before(cutoff), _not_erased(SubsidyApplication))


def _closed_case_recertification_notes_due(cutoff):
    return (
        select(SubsidyRecertification.id)
        .join(SubsidyApplication, SubsidyApplication.id == SubsidyRecertification.application_id)
        .where(
            _case_closed_before(cutoff),
            SubsidyRecertification.review_note.is_not(None),
            SubsidyRecertification.review_note != ERASED_NOTE,
        )
    )


def _erase_recertification_notes(session, ids) -> None:
    session.execute(
        update(SubsidyRecertification).where(SubsidyRecertification.id.in_(ids)).values(review_note=ERASED_NOTE)
    )


def _closed_tenancy_identities_due(cutoff):
    ended_before = exists().where(
        Tenancy.application_id == TenancyApplication.id, Tenancy.ended_at.is_not(None), Tenancy.ended_at < cutoff
    )
    return select(TenancyApplication.id).where(
        or_(
            and_(TenancyApplication.status == INELIGIBLE, TenancyApplication.submitted_at < cutoff),
            and_(TenancyApplication.status == ALLOCATED, ended_before),
        ),
        _not_erased(TenancyApplication),
    )


def _identity_eraser(model):
    """Erases an applicant's name, ID number and phone (ciphertexts and look-up index); the masks stay."""

    def erase(session, ids) -> None:
        session.execute(
            update(model)
            .where(model.id.in_(ids))
            .values(id_number_encrypted=ERASED, phone_encrypted=ERASED, phone_index=ERASED, name="（已删除）")
        )

    return erase


RULES = (
    RetentionRule(
        "closed_case_identity",
        FIVE_YEARS,
        due=_closed_case_identities_due,
        erase=_identity_eraser(SubsidyApplication),
        description="name, ID number and phone of closed rent-subsidy cases",
        tables=(SubsidyApplication.__tablename__,),
    ),
    RetentionRule(
        "closed_tenancy_identity",
        FIVE_YEARS,
        due=_closed_tenancy_identities_due,
        erase=_identity_eraser(TenancyApplication),
        description="name, ID number and phone of refused tenancy applications and of ended tenancies",
        tables=(TenancyApplication.__tablename__,),
    ),
    RetentionRule(
        "closed_case_recertification_notes",
        FIVE_YEARS,
        due=_closed_case_recertification_notes_due,
        erase=_erase_recertification_notes,
        description="reviewers' notes on the re-certifications of closed rent-subsidy cases",
        tables=(SubsidyRecertification.__tablename__,),
    ),
    kept_appeals("appeals"),
    kept_pseudonyms("open_cases", "disbursements", "tenancies"),
)
