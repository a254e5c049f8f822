"""Re-certification of an approved rent subsidy (the annual re-check), a decision on public money.

- No longer eligible: the subsidy ends at once with the reasons (`subsidy_ended`), as a caseworker may end one.
- Still eligible, the amount not raised, the term not extended and the case not a legacy import: applied at
  once, audited and published (`subsidy_recertified`), since it gives the household nothing new.
- Otherwise a proposal (`awaiting_review`) that changes nothing until a reviewer who is not its proposer approves
  it; then it is applied and published. A rejected proposal leaves the subsidy as it was (audited, not published).

A term is renewed only within `RENEWAL_WINDOW_MONTHS` of its end, to one full term after it: a renewed term ends
further off than that, so repeating a re-certification never renews a term twice.
"""

from __future__ import annotations

import dataclasses
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.housing import rules
from services.housing.decisions import check_decision, decide
from services.housing.exceptions import ApplicationNotFound, InvalidTransition, MakerCheckerViolation
from services.housing.models import SubsidyApplication, SubsidyRecertification
from services.housing.policy import RENT_SUBSIDY, policy_in_force
from services.housing.subsidy import APPROVED, case_data, end, facts_of, load_application, to_dict
from shared.cixi.contracts.housing import NO_LONGER_ELIGIBLE
from shared.platform.audit import AuditedCase
from shared.platform.auth import Caller
from shared.platform.clock import local_date
from shared.platform.ids import new_id
from shared.platform.personal_data_provider import PiiTools

AWAITING_REVIEW, ACCEPTED, REJECTED, APPLIED = "awaiting_review", "approved", "rejected", "applied"
RENEWAL_WINDOW_MONTHS = 3  # [assumed] docs/policy.md: a term ending this month or in the next two may be renewed
CASE_TYPE = "subsidy_recertification"
AUDITED = {SubsidyRecertification: AuditedCase(CASE_TYPE, ("review_note",))}  # the service's Audit records these
SHOWN = ("id", "application_id", "status", "previous_monthly_subsidy_fen", "monthly_subsidy_fen",
         "previous_end_period", "end_period", "policy_ref", "proposed_by", "reviewed_by", "review_note")  # fmt: skip


def renewed_end(end_period: str, today, term_months: int) -> str:
    """The term's end after a re-certification today: renewed for a full term only when it is due."""
    current = rules.period_of(today)
    if end_period >= rules.shift_period(current, RENEWAL_WINDOW_MONTHS):
        return end_period
    return rules.shift_period(max(rules.shift_period(end_period, 1), current), term_months - 1)


def as_dict(recertification: SubsidyRecertification | None) -> dict | None:
    if recertification is None:
        return None
    found = {name: getattr(recertification, name) for name in SHOWN}
    found["changes"] = json.loads(recertification.changes)
    for name in ("proposed_at", "reviewed_at"):
        moment = getattr(recertification, name)
        found[name] = moment.isoformat() if moment else None
    return found


def outcome(application: SubsidyApplication, recertification: SubsidyRecertification | None) -> dict:
    return {"application": to_dict(application), "recertification": as_dict(recertification)}


def pending(session: Session, application_id: str) -> SubsidyRecertification | None:
    query = select(SubsidyRecertification).where(
        SubsidyRecertification.application_id == application_id, SubsidyRecertification.status == AWAITING_REVIEW
    )
    return session.scalars(query).first()


def propose(session: Session, outbox, pii: PiiTools, caller: Caller, application_id, changes: dict, now) -> dict:
    """Re-check eligibility on the changed facts under the policy now in force; see the module for the outcomes."""
    application = load_application(session, caller, application_id, for_update=True)
    if application.status != APPROVED:
        raise InvalidTransition(f"application {application.id} is {application.status}; only approved ones recertify")
    if pending(session, application.id) is not None:
        raise InvalidTransition(f"a re-certification of application {application.id} is already awaiting review")
    today = local_date(now)
    policy = policy_in_force(session, RENT_SUBSIDY, today)
    facts = dataclasses.replace(facts_of(application, pii.decrypt(application.id_number_encrypted)), **changes)
    reasons = rules.subsidy_eligibility(facts, policy.rules, today)
    if reasons:
        for key, value in changes.items():
            setattr(application, key, value)
        application.recertified_at, application.reasons = now, json.dumps(reasons)
        end(session, outbox, application, NO_LONGER_ELIGIBLE, now, failed=reasons)
        return outcome(application, None)
    amount = rules.monthly_subsidy_fen(facts.category, facts.household_size, facts.monthly_rent_fen, policy.rules)
    ends = renewed_end(application.end_period, today, int(policy["term_months"]))
    new_decision = amount > application.monthly_subsidy_fen or ends > application.end_period or application.legacy
    recertification = SubsidyRecertification(
        id=new_id(),
        application_id=application.id,
        status=AWAITING_REVIEW if new_decision else APPLIED,
        changes=json.dumps(changes, sort_keys=True),
        previous_monthly_subsidy_fen=application.monthly_subsidy_fen,
        monthly_subsidy_fen=amount,
        previous_end_period=application.end_period,
        end_period=ends,
        policy_id=policy.id,
        policy_ref=policy.trace[:200],
        proposed_by=caller.subject,
        proposed_at=now,
    )
    session.add(recertification)  # audited at flush, as every status change of an audited case
    if not new_decision:
        _apply(outbox, application, recertification, now)
    return outcome(application, recertification)


def review(session: Session, outbox, audit, caller: Caller, application_id, decision, note, now) -> dict:
    """Approve or reject the re-certification awaiting review on `application_id`. The decision is a conditional
    UPDATE (`status = 'awaiting_review'`): of two reviewers at once exactly one decides it."""
    check_decision(decision, note)
    application = load_application(session, caller, application_id, for_update=True)
    proposal = pending(session, application.id)
    if proposal is None:
        raise ApplicationNotFound(f"no re-certification of application {application.id} is awaiting review")
    # a legacy case's importer stood in as its reviewer: its first decision on the platform is someone else's
    if caller.subject == proposal.proposed_by or (application.legacy and caller.subject == application.reviewed_by):
        raise MakerCheckerViolation(f"{caller.subject} proposed or imported this case and may not review it")
    unchanged = (application.status, application.monthly_subsidy_fen, application.end_period) == (
        APPROVED, proposal.previous_monthly_subsidy_fen, proposal.previous_end_period
    )  # fmt: skip
    if decision == "approve" and not unchanged:
        raise InvalidTransition(f"application {application.id} changed since the proposal: reject it and recertify")
    status = ACCEPTED if decision == "approve" else REJECTED
    if not decide(session, audit, CASE_TYPE, proposal, AWAITING_REVIEW, status, caller, note, now):
        raise InvalidTransition(f"the re-certification of application {application.id} was reviewed concurrently")
    if proposal.status == ACCEPTED:
        _apply(outbox, application, proposal, now)
    return outcome(application, proposal)


def _apply(outbox, application: SubsidyApplication, recertification: SubsidyRecertification, now) -> None:
    for key, value in json.loads(recertification.changes).items():
        setattr(application, key, value)
    application.monthly_subsidy_fen, application.end_period = (
        recertification.monthly_subsidy_fen,
        recertification.end_period,
    )
    application.policy_id, application.policy_ref = recertification.policy_id, recertification.policy_ref
    application.recertified_at = now
    reviewed = recertification.status == ACCEPTED
    if reviewed:
        application.legacy = False  # a reviewer has now decided the imported case on the platform
    outbox.add(
        "subsidy_recertified",
        {
            **case_data(application),
            "household_size": application.household_size,
            "monthly_subsidy_fen": application.monthly_subsidy_fen,
            "previous_monthly_subsidy_fen": recertification.previous_monthly_subsidy_fen,
            "end_period": application.end_period,
            "reviewed": reviewed,
            "policy_ref": application.policy_ref,
            "recertified_at": now.isoformat(),
        },
    )
