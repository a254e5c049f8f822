"""A caller's context (`correlation_id`, `call_id_stack`) is checked at the RPC edge: one too long, or one that
carries spaces, line breaks, control, zero-width or bidirectional-override characters, is refused with
`MalformedCall` naming the header before anything is stored or published. Real RPC, real broker, SQLite and
PostgreSQL: the write attacked is housing's subsidy submission, which stores an application, claims an
open-case slot, writes the audit trail and publishes `contact_provided` and `subsidy_submitted`."""

from __future__ import annotations

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from services.housing.models import OpenCase, SubsidyApplication
from shared.platform.audit import AuditRecord
from shared.platform.contracts import CORRELATION_ID_MAX
from shared.platform.errors import MalformedCall
from shared.platform.models import OutboxMessage
from tests.services.housing.conftest import count_rows, subsidy_application

NOTHING = {"subsidy_applications": 0, "open_cases": 0, "audit_log": 0, "outbox": 0}
BAD_IDS = {
    "overlong": "c" * (CORRELATION_ID_MAX + 1),
    "line-break": "corr-1\nFORGED audit line",
    "control": "corr-\x1b[31m1",
    "zero-width": "corr\u200b-1",
    "bidi-override": "corr-\u202e1-",
    "space": "corr 1",
    "empty": "",
}


def stored(config) -> dict[str, int]:
    models = (SubsidyApplication, OpenCase, AuditRecord, OutboxMessage)
    return {model.__tablename__: count_rows(config, model) for model in models}


def submit_with(config, token: str, **context):
    with ServiceRpcProxy("housing", config, context_data={"authorization": token, **context}) as housing:
        return housing.submit_subsidy_application(subsidy_application())


@pytest.mark.parametrize("kind", list(BAD_IDS))
def test_a_hostile_correlation_id_is_refused_and_nothing_is_stored_or_published(housing, events, token_for, kind):
    with pytest.raises(MalformedCall) as refused:
        submit_with(housing, token_for("cw-1", "caseworker"), correlation_id=BAD_IDS[kind])
    assert list(refused.value.errors) == ["nameko.correlation_id"]
    assert BAD_IDS[kind] not in str(refused.value) or not BAD_IDS[kind]
    assert stored(housing) == NOTHING
    assert events.drain(timeout=1.5) == []


@pytest.mark.parametrize("kind", ["overlong", "line-break", "bidi-override"])
def test_a_hostile_call_id_stack_is_refused_and_nothing_is_stored_or_published(housing, events, token_for, kind):
    with pytest.raises(MalformedCall) as refused:
        submit_with(housing, token_for("cw-1", "caseworker"), call_id_stack=[BAD_IDS[kind], "gateway.call.1"])
    assert list(refused.value.errors) == ["nameko.call_id_stack"]
    assert stored(housing) == NOTHING
    assert events.drain(timeout=1.5) == []


def test_a_well_formed_correlation_id_reaches_the_events_and_the_audit_trail(housing, events, token_for):
    correlation_id = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"  # a W3C traceparent
    application_id = submit_with(housing, token_for("cw-1", "caseworker"), correlation_id=correlation_id)[
        "application_id"
    ]
    seen = events.drain(until=lambda seen: any(e["event_type"] == "subsidy_submitted" for e in seen))
    assert {event["correlation_id"] for event in seen} == {correlation_id}
    assert count_rows(housing, AuditRecord, case_id=application_id, correlation_id=correlation_id) == 1
