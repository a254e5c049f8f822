"""housing's migrations apply from empty, seed the policy table, and downgrade cleanly."""

from __future__ import annotations

from datetime import date

from alembic import command
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from services.housing.models import Base, PolicyVersion
from services.housing.policy import OPERATOR_SUBSIDY, RENT_SUBSIDY, TENANCY, list_policies, policy_in_force
from shared.platform.db import make_engine
from shared.platform.migrations import alembic_config, upgrade


def test_upgrade_seeds_policies_and_matches_the_models(db_url):
    upgrade("housing", db_url)
    engine = make_engine(db_url)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    with Session(engine) as session:
        assert {p.programme for p in list_policies(session)} == {RENT_SUBSIDY, TENANCY, OPERATOR_SUBSIDY}
        assert (
            "frontline_worker" not in policy_in_force(session, RENT_SUBSIDY, date(2022, 12, 31))["eligible_categories"]
        )
        assert "frontline_worker" in policy_in_force(session, RENT_SUBSIDY, date(2023, 1, 1))["eligible_categories"]
        assert len(session.scalars(select(PolicyVersion)).all()) == 5
    engine.dispose()
    command.downgrade(alembic_config("housing", db_url), "housing_0001")
    engine = make_engine(db_url)
    assert not set(Base.metadata.tables) & set(inspect(engine).get_table_names())
    engine.dispose()
    upgrade("housing", db_url)


def _policy_rows(engine, columns: str) -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(r) for r in connection.execute(text(f"SELECT {columns} FROM policy_versions ORDER BY id"))]


def test_the_shared_store_shape_keeps_every_row_and_goes_back(db_url):
    """housing_0009 renames programme → name and rules → value: every row keeps its id, date, reference and
    document, so the ids cases recorded still point at them; downgrade gives back the table it had."""
    upgrade("housing", db_url, "housing_0010")
    engine = make_engine(db_url)
    before = _policy_rows(engine, "id, programme, effective_from, policy_ref, rules")
    assert len(before) == 5
    upgrade("housing", db_url, "housing_0009")
    assert _policy_rows(engine, "id, name, effective_from, policy_ref, value") == before
    assert {unit for (unit,) in _policy_rows(engine, "unit")} == {"document"}
    command.downgrade(alembic_config("housing", db_url), "housing_0010")
    assert _policy_rows(engine, "id, programme, effective_from, policy_ref, rules") == before
    engine.dispose()
