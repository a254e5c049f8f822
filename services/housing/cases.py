"""What both programmes share: storing an applicant's personal data, the one-open-case rule, caller scoping."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.housing.exceptions import ApplicationNotFound, DuplicateApplication
from services.housing.models import OpenCase
from shared.platform.audit import record_inserted
from shared.platform.auth import Caller, require_acting_for
from shared.platform.ids import new_id
from shared.platform.personal_data import mask_id_number, mask_phone
from shared.platform.personal_data_provider import PiiTools
from shared.platform.validation import echo

PHONE_INDEX = "phone"


def applicant_columns(pii: PiiTools, caller: Caller, data: dict) -> dict:
    """Personal data as stored: encrypted, with masks for display and keyed indexes for look-up."""
    return {
        "resident_id": pii.resident_id(data["id_number"]),
        "id_number_encrypted": pii.encrypt(data["id_number"]),
        "id_number_masked": mask_id_number(data["id_number"]),
        "name": data["name"],
        "phone_encrypted": pii.encrypt(data["phone"]),
        "phone_index": pii.index(data["phone"], PHONE_INDEX),
        "phone_masked": mask_phone(data["phone"]),
        "town": data["town"],
        "submitted_by": caller.subject,
        "owner_subject": caller.subject if caller.is_resident_only else None,
    }


def facts_from(facts_type, data: dict):
    """Build a rules dataclass from loaded input; optional facts not given are None."""
    return facts_type(**{field.name: data.get(field.name) for field in dataclasses.fields(facts_type)})


def new_application(session: Session, model, pii: PiiTools, caller: Caller, data: dict, evaluation: dict, **extra):
    """Store an application: eligible ones claim the resident's open-case slot, ineligible ones are kept closed.

    `evaluation` holds programme, facts, reasons, policy_id and now. The rows are written with Core
    INSERTs (the ORM unit of work was most of a submission's cost), the audit record with them; the
    result is a read-only view of the stored columns (`session.get` loads the model if one is needed).
    """
    require_acting_for(caller, pii.resident_id(data["id_number"]))  # before anything is written
    reasons = evaluation["reasons"]
    application_id = new_id()
    columns = applicant_columns(pii, caller, data)
    status = "ineligible" if reasons else "submitted"
    if status == "submitted":
        claim_case(session, caller, columns["resident_id"], evaluation["programme"], application_id, evaluation["now"])
    else:
        refuse_if_open(session, caller, columns["resident_id"])  # kept closed, but not beside an open case
    facts = {key: value for key, value in dataclasses.asdict(evaluation["facts"]).items() if key != "id_number"}
    values = {
        "id": application_id,
        **columns,
        **facts,
        **extra,
        "submitted_at": evaluation["now"],
        "status": status,
        "reasons": json.dumps(reasons),
        "eligibility_policy_id": evaluation["policy_id"],
    }
    session.execute(insert(model.__table__), values)
    record_inserted(session, model, values)
    return SimpleNamespace(**values)


def visible_to(caller: Caller, case) -> bool:
    return not caller.is_resident_only or case.owner_subject == caller.subject


def require_visible(caller: Caller, case, kind: str, case_id: str):
    if case is None or not visible_to(caller, case):
        raise ApplicationNotFound(f"no {kind} {echo(case_id)}")
    return case


def refuse_if_open(session: Session, caller: Caller, resident_id: str) -> None:
    held = session.get(OpenCase, resident_id)
    if held is not None:
        raise DuplicateApplication(_held_message(caller, held))


def open_case(session: Session, caller: Caller, resident_id: str, programme: str, case_id: str, now: datetime) -> None:
    """Claim the resident's single open-case slot; a held slot raises DuplicateApplication naming the holder.

    The slot is a primary-key row, so two concurrent submissions for one resident cannot both succeed:
    the loser's flush fails and is reported the same way.
    """
    refuse_if_open(session, caller, resident_id)
    session.add(OpenCase(resident_id=resident_id, programme=programme, case_id=case_id, opened_at=now))
    try:
        session.flush()
    except IntegrityError:
        _refuse_taken(session, caller, resident_id)


def claim_case(session: Session, caller: Caller, resident_id: str, programme: str, case_id: str, now: datetime) -> None:
    """`open_case` with a Core INSERT, whose primary key is the check: one statement, no look-up first."""
    row = {"resident_id": resident_id, "programme": programme, "case_id": case_id, "opened_at": now}
    try:
        session.execute(insert(OpenCase.__table__), row)
    except IntegrityError:
        _refuse_taken(session, caller, resident_id)


def _refuse_taken(session: Session, caller: Caller, resident_id: str):
    session.rollback()
    held = session.get(OpenCase, resident_id)
    message = _held_message(caller, held) if held else "the resident already has an open case"
    raise DuplicateApplication(message) from None


def close_case(session: Session, resident_id: str, case_id: str) -> None:
    held = session.get(OpenCase, resident_id)
    if held is not None and held.case_id == case_id:
        session.delete(held)


def _held_message(caller: Caller, held: OpenCase) -> str:
    """Staff, who may read every case, are told which case holds the slot; a resident (who reaches this
    only for themselves) is told the programme, never an id."""
    what = {"subsidy": "rent-subsidy case", "tenancy": "保租房 tenancy case"}.get(held.programme, held.programme)
    if caller.is_staff:
        return f"the resident already has an open {what} {held.case_id}"
    return f"you already have an open {what}; see your own applications"
