"""A reviewer's decision on a proposal about public money (an operator-subsidy assessment, a re-certification):
checked input, then one conditional UPDATE out of the awaiting status, audited in the same transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from services.housing.subsidy import check_note
from shared.platform.auth import Caller
from shared.platform.db import move_status
from shared.platform.errors import ValidationError


def check_decision(decision, note) -> None:
    errors = {} if decision in ("approve", "reject") else {"decision": ['Must be "approve" or "reject".']}
    errors.update(check_note(note, decision == "reject", "A rejection needs a note giving the reason."))
    if errors:
        raise ValidationError(errors)


def decide(
    session: Session, audit, case_type: str, case, awaiting: str, status: str, caller: Caller, note, now
) -> bool:
    """Move `case` from `awaiting` to `status` by the reviewer, only if it is still awaiting: of two reviewers at
    once exactly one moves it (False for the other, whose caller refuses). The audit record and the loaded
    object follow."""
    decided = {"status": status, "reviewed_by": caller.subject, "reviewed_at": now, "review_note": note}
    if not move_status(session, type(case), case.id, awaiting, decided):
        return False
    audit.record(
        case_type,
        case.id,
        status,
        from_state=awaiting,
        to_state=status,
        changes={key: value for key, value in decided.items() if key != "status"},
        reason=note,
        policy_ref=case.policy_ref,
    )
    for key, value in decided.items():
        set_committed_value(case, key, value)  # the row as written, without a second UPDATE
    return True
