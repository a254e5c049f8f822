"""The rent subsidy (公租房租赁补贴) lifecycle: submit → review → active → re-certify → end.

States: submitted → approved | rejected → ended; ineligible and rejected are kept and may be appealed
(services/housing/appeals.py): an upheld appeal approves through the normal path (`grant_on_appeal`).
`appealed` (awaiting review) is held only by cases appealed before the appeal mechanism existed.
Only `submitted`, `appealed` and `approved` hold the resident's open-case slot.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from services.housing import rules
from services.housing.cases import (
    PHONE_INDEX,
    close_case,
    facts_from,
    new_application,
    open_case,
    require_visible,
)
from services.housing.exceptions import InvalidTransition, MakerCheckerViolation, NoAmountRule
from services.housing.models import SubsidyApplication
from services.housing.policy import RENT_SUBSIDY, policy_in_force
from services.housing.schemas import SubsidyApplicationOut
from shared.cixi.contracts.housing import SUBSIDY_END_REASONS
from shared.cixi.towns import resolve_town
from shared.platform.auth import Caller
from shared.platform.clock import SHANGHAI, local_date
from shared.platform.contracts import resident_note
from shared.platform.errors import ValidationError
from shared.platform.personal_data import InvalidIdNumber, InvalidPhone, normalise_id_number, normalise_phone
from shared.platform.personal_data_provider import PiiTools
from shared.platform.validation import text_problem

SUBMITTED, INELIGIBLE, APPROVED, REJECTED, ENDED = "submitted", "ineligible", "approved", "rejected", "ended"
APPEALED = "appealed"
AWAITING_REVIEW = (SUBMITTED, APPEALED)
TRANSITIONS = {
    SUBMITTED: {APPROVED, REJECTED},
    APPEALED: {APPROVED, REJECTED},
    APPROVED: {ENDED},
    INELIGIBLE: {APPROVED},  # only through an upheld appeal
    REJECTED: {APPROVED},  # only through an upheld appeal
    ENDED: set(),
}
MAX_NOTE = 1000
MAX_PAGE_SIZE = 200
# what a caseworker may end a subsidy for; no_longer_eligible and term_expired are the platform's own
CASEWORKER_END_REASONS = SUBSIDY_END_REASONS[:5]


def transition(application: SubsidyApplication, to: str) -> None:
    if to not in TRANSITIONS.get(application.status, set()):
        raise InvalidTransition(f"application {application.id} is {application.status}; it cannot become {to}")
    application.status = to


# built once: dumping keeps no state on the schema, and building one costs more than a dump
_OUT = SubsidyApplicationOut()


def to_dict(application: SubsidyApplication) -> dict:
    return _OUT.dump(application)


def case_data(application: SubsidyApplication) -> dict:
    return {
        "application_id": application.id,
        "resident_id": application.resident_id,
        "town": application.town,
        "category": application.category,
    }


def facts_of(application: SubsidyApplication, id_number: str) -> rules.SubsidyFacts:
    return rules.SubsidyFacts(
        id_number=id_number,
        category=application.category,
        household_size=application.household_size,
        monthly_rent_fen=application.monthly_rent_fen,
        has_residence_permit=application.has_residence_permit,
        owns_home_in_cixi=application.owns_home_in_cixi,
        employed_in_cixi=application.employed_in_cixi,
    )


def submit(session: Session, outbox, pii: PiiTools, caller: Caller, data: dict, now, backfill=False) -> dict:
    """Store a well-formed application, evaluate it, and hand the contact to notify in the same transaction."""
    policy = policy_in_force(session, RENT_SUBSIDY, local_date(now))
    facts = facts_from(rules.SubsidyFacts, data)
    reasons = rules.subsidy_eligibility(facts, policy.rules, local_date(now))
    evaluation = {"programme": "subsidy", "facts": facts, "reasons": reasons, "policy_id": policy.id, "now": now}
    # a backfilled application is a legacy import: flagged until a reviewer decides it on the platform
    application = new_application(session, SubsidyApplication, pii, caller, data, evaluation, legacy=backfill)
    contact = {
        "resident_id": application.resident_id,
        "phone_encrypted": pii.encrypt(data["phone"], bound_to=application.resident_id),
        "town": application.town,
        "category": application.category,
    }
    submitted = {
        **case_data(application),
        "household_size": application.household_size,
        "status": application.status,
        "reasons": reasons,
        "submitted_at": now.isoformat(),
        "backfill": backfill,
    }
    outbox.write([("contact_provided", contact), ("subsidy_application_submitted", submitted)])
    return {"application_id": application.id, "status": application.status, "reasons": reasons}


def import_legacy(session: Session, outbox, pii: PiiTools, caller: Caller, request: dict, go_live: date, now) -> dict:
    """A case decided on paper before the platform (before `go_live`), recorded as submitted and approved on its
    decision day (`request`: the application and `decided_on`).

    The policy row in force on that day applies (eligibility and amount), the events carry the decision's
    own time and `backfill: true`, so stats files them under the right year and notify does not message the
    resident about a years-old decision. The importing admin is recorded as reviewer, so the case is flagged
    `legacy`: history only, which no live disbursement pays until a reviewer approves its re-certification.
    """
    data, decided_on = request["application"], request["decided_on"]
    if decided_on > local_date(now):
        raise ValidationError({"decided_on": ["Must not be in the future."]})
    if decided_on >= go_live:  # one admin alone may record history, never a decision the platform pays
        raise ValidationError({
            "decided_on": [f"A legacy import records only decisions before go-live ({go_live.isoformat()}); "
                           "a later case is submitted and reviewed on the platform."]
        })  # fmt: skip
    decided_at = min(datetime.combine(decided_on, time(10, 0), tzinfo=SHANGHAI).astimezone(UTC), now)
    outcome = submit(session, outbox, pii, caller, data, decided_at, backfill=True)
    application = session.get(SubsidyApplication, outcome["application_id"])
    if application.status == SUBMITTED:
        application.reviewed_by, application.reviewed_at = caller.subject, decided_at
        application.review_note = "legacy case imported"
        _approve(session, outbox, application, decided_at, backfill=True)
    return to_dict(application)


# built once: the per-request path then skips constructing the statement (SQLAlchemy caches its compilation)
_BY_ID = select(SubsidyApplication).where(SubsidyApplication.id == bindparam("application_id"))
_BY_ID_FOR_UPDATE = _BY_ID.with_for_update()


def load_application(session: Session, caller: Caller, application_id, *, for_update: bool = False):
    if not isinstance(application_id, str) or len(application_id) > 36:
        raise ValidationError({"application_id": ["Must be an application id string."]})
    query = _BY_ID_FOR_UPDATE if for_update else _BY_ID
    application = session.scalars(query, {"application_id": application_id}).first()
    return require_visible(caller, application, "subsidy application", application_id)


def check_note(note, required: bool, why: str) -> dict:
    """The errors of a reviewer's note: bounded text without invisible characters, present if `required`."""
    if required and not (isinstance(note, str) and note.strip()):
        return {"note": [why]}
    problem = None if note is None else text_problem(note, MAX_NOTE, multiline=True)
    return {"note": [problem]} if problem else {}


def review(session: Session, outbox, caller: Caller, application_id, decision, note, note_for_resident, now) -> dict:
    """`note_for_resident`: the reviewer marks the note as written for the resident, who is then sent it."""
    errors = {}
    if decision not in ("approve", "reject"):
        errors["decision"] = ['Must be "approve" or "reject".']
    errors.update(check_note(note, decision == "reject", "A rejection needs a note giving the reason."))
    if not isinstance(note_for_resident, bool):
        errors["note_for_resident"] = ["Must be true or false."]
    if errors:
        raise ValidationError(errors)
    application = load_application(session, caller, application_id, for_update=True)
    if application.status not in AWAITING_REVIEW:
        raise InvalidTransition(f"application {application.id} is {application.status}, not awaiting review")
    if caller.subject in (application.submitted_by, application.owner_subject, application.appealed_by):
        raise MakerCheckerViolation(f"{caller.subject} submitted application {application.id} and may not review it")
    application.reviewed_by, application.reviewed_at, application.review_note = caller.subject, now, note
    if decision == "approve":
        _approve(session, outbox, application, now)
    else:
        transition(application, REJECTED)
        close_case(session, application.resident_id, application.id)
        rejected = {
            **case_data(application),
            "reasons": ["rejected_on_review"],
            "note_for_resident": resident_note(note) if note_for_resident else None,
            "rejected_at": now.isoformat(),
        }
        outbox.add("subsidy_rejected", rejected)
    try:
        session.flush()
    except StaleDataError:  # another reviewer decided it between our read and our write
        raise InvalidTransition(f"application {application_id} was reviewed concurrently") from None
    return to_dict(application)


def grant_on_appeal(session: Session, outbox, application: SubsidyApplication, caller: Caller, now, note) -> None:
    """An upheld appeal reverses a refusal by the normal approval: the slot, the amount, subsidy_approved."""
    open_case(session, caller, application.resident_id, "subsidy", application.id, now)
    application.reviewed_by, application.reviewed_at, application.review_note = caller.subject, now, note
    _approve(session, outbox, application, now)


def _approve(session: Session, outbox, application: SubsidyApplication, now, backfill: bool = False) -> None:
    policy = policy_in_force(session, RENT_SUBSIDY, local_date(now))
    try:
        amount = rules.monthly_subsidy_fen(
            application.category, application.household_size, application.monthly_rent_fen, policy.rules
        )
    except KeyError:  # an appeal granted for a category or household size the policy row has no amount for
        raise NoAmountRule(
            f"{policy.trace} has no amount for category {application.category},"
            f" household size {application.household_size}"
        ) from None
    transition(application, APPROVED)
    application.legacy = backfill  # any approval but an import's is a reviewer's decision on the platform
    application.monthly_subsidy_fen = amount
    application.policy_id, application.policy_ref = policy.id, policy.trace[:200]
    application.start_period = rules.period_of(local_date(now))
    application.end_period = rules.shift_period(application.start_period, int(policy["term_months"]) - 1)
    outbox.add(
        "subsidy_approved",
        {
            **case_data(application),
            "household_size": application.household_size,
            "monthly_subsidy_fen": application.monthly_subsidy_fen,
            "approved_at": now.isoformat(),
            "policy_ref": application.policy_ref,
            "backfill": backfill,
        },
    )


def get(session: Session, caller: Caller, application_id) -> dict:
    return to_dict(load_application(session, caller, application_id))


def lookup_index(pii: PiiTools, id_number, phone) -> dict:
    """The keyed index column and value for an exact look-up by ID number or by phone (exactly one)."""
    if (id_number is None) == (phone is None):
        raise ValidationError({"id_number": ["Give exactly one of id_number or phone."]})
    try:
        if id_number is not None:
            return {"resident_id": pii.resident_id(normalise_id_number(str(id_number)[:32]))}
        return {"phone_index": pii.index(normalise_phone(str(phone)[:24]), PHONE_INDEX)}
    except InvalidIdNumber:
        raise ValidationError({"id_number": ["Not a valid resident ID number."]}) from None
    except InvalidPhone:
        raise ValidationError({"phone": ["Not a valid mainland mobile number."]}) from None


def list_applications(
    session: Session, caller: Caller, status=None, town=None, category=None, page=1, page_size=50, **index
) -> dict:
    errors = {}
    for name, value in (("page", page), ("page_size", page_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            errors[name] = ["Must be a positive integer."]
    if isinstance(page_size, int) and page_size > MAX_PAGE_SIZE:
        errors["page_size"] = [f"Must be at most {MAX_PAGE_SIZE}."]
    if status is not None and (not isinstance(status, str) or status not in TRANSITIONS):
        errors["status"] = [f"Must be one of {', '.join(TRANSITIONS)}."]
    for name, value in (("town", town), ("category", category)):
        if value is not None and (not isinstance(value, str) or len(value) > 50):
            errors[name] = ["Must be text of at most 50 characters."]
    if errors:
        raise ValidationError(errors)
    query = select(SubsidyApplication)
    if status:
        query = query.where(SubsidyApplication.status == status)
    if town:
        resolved = resolve_town(town)
        query = query.where(SubsidyApplication.town == (resolved.name if resolved else town))
    if category:
        query = query.where(SubsidyApplication.category == category)
    for column, value in index.items():
        query = query.where(getattr(SubsidyApplication, column) == value)
    if caller.is_resident_only:
        query = query.where(SubsidyApplication.owner_subject == caller.subject)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(SubsidyApplication.submitted_at.desc(), SubsidyApplication.id)
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return {"items": [to_dict(row) for row in rows], "page": page, "page_size": page_size, "total": total}


def end(session: Session, outbox, application: SubsidyApplication, reason: str, now, failed: list[str] = ()) -> None:
    """Exit an active subsidy with a reason code (and, re-checked and refused, the rules that `failed`): frees
    the resident's slot and tells notify and stats."""
    transition(application, ENDED)
    application.ended_at, application.end_reason = now, reason
    close_case(session, application.resident_id, application.id)
    ended = {
        **case_data(application),
        "reason": reason,
        "eligibility_reasons": list(failed),
        "ended_at": now.isoformat(),
    }
    outbox.add("subsidy_ended", ended)


def end_by_caseworker(session: Session, outbox, caller: Caller, application_id, reason, now) -> dict:
    if reason not in CASEWORKER_END_REASONS:
        raise ValidationError({"reason": [f"Must be one of {', '.join(CASEWORKER_END_REASONS)}."]})
    application = load_application(session, caller, application_id, for_update=True)
    end(session, outbox, application, reason, now)
    return to_dict(application)


def expired(as_of_period: str):
    """The approved subsidies whose term finished before `as_of_period` (not re-certified in time); each is
    ended `end(..., "term_expired", ...)`."""
    return (
        select(SubsidyApplication)
        .where(SubsidyApplication.status == APPROVED, SubsidyApplication.end_period < as_of_period)
        .order_by(SubsidyApplication.id)
    )
