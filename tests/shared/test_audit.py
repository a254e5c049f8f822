"""The audit trail commits with the change it describes, masks personal data and cannot be altered."""

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from shared.platform.db import make_engine
from shared.platform.errors import InternalError
from shared.platform.migrations import create_audit_table
from shared.platform.models import SharedBase
from tests.shared.sample_services import SampleBase, SamplerService


@pytest.fixture
def sampler(container_factory, service_config, db_url, token_for):
    engine = make_engine(db_url)
    SampleBase.metadata.create_all(engine)
    SharedBase.metadata.create_all(
        engine, tables=[t for n, t in SharedBase.metadata.tables.items() if n != "audit_log"]
    )
    with engine.begin() as connection:
        from alembic.migration import MigrationContext
        from alembic.operations import Operations

        create_audit_table(Operations(MigrationContext.configure(connection)))
    config = service_config(db_url)
    container = container_factory(SamplerService, config)
    container.start()
    proxy = ServiceRpcProxy("sampler", config, context_data={"authorization": token_for("cw-9", "caseworker")})
    yield proxy.start(), engine
    proxy.stop()
    engine.dispose()


def test_history_is_ordered_and_says_who_what_why(sampler):
    rpc, _ = sampler
    rpc.move_case("c1", "submitted")
    rpc.move_case("c1", "approved", note="meets rule 3")
    history = rpc.history("c1")
    assert [(h["from_state"], h["to_state"]) for h in history] == [("new", "submitted"), ("submitted", "approved")]
    assert {h["actor"] for h in history} == {"cw-9"}
    assert history[1]["actor_roles"] == ["caseworker"]
    assert history[1]["reason"] == "meets rule 3" and history[1]["policy_ref"] == "sample-policy-v1"
    assert history[1]["correlation_id"] and history[1]["recorded_at"].endswith("+00:00")


def test_a_failure_after_the_change_rolls_back_change_and_record(sampler):
    rpc, _ = sampler
    rpc.move_case("c2", "submitted")
    with pytest.raises(InternalError):
        rpc.move_case("c2", "approved", fail_after=True)
    assert [h["to_state"] for h in rpc.history("c2")] == ["submitted"]


def test_personal_data_is_masked_in_the_trail(sampler):
    rpc, _ = sampler
    rpc.move_case("c3", "rejected", note="申请人13812345678身份证11010519491231002X不符")
    entry = rpc.history("c3")[0]
    flat = str(entry)
    assert "13812345678" not in flat and "11010519491231002X" not in flat
    assert "138****5678" in entry["reason"] and "110105********002X" in entry["changes"]["note"]


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"])
def test_the_database_refuses_to_alter_records(sampler, statement):
    rpc, engine = sampler
    rpc.move_case("c4", "submitted")
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement))
    assert rpc.history("c4")[0]["actor"] == "cw-9"
