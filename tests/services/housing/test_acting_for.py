"""A resident acts in housing only in their own name: applying with someone else's ID number is refused
before anything is stored or published, and no error names another person's case (real RPC, real broker,
SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from nameko.exceptions import RemoteError

from services.housing.models import OpenCase, SubsidyApplication, TenancyApplication
from shared.platform.errors import Forbidden
from shared.platform.models import OutboxMessage
from tests.services.housing.conftest import count_rows, subsidy_application, tenancy_application
from tests.support.residents import subject_of


def stored(config) -> dict[str, int]:
    """How many rows of each kind a submission writes are in housing's database."""
    models = (SubsidyApplication, TenancyApplication, OpenCase, OutboxMessage)
    return {model.__tablename__: count_rows(config, model) for model in models}


NOTHING = {"subsidy_applications": 0, "tenancy_applications": 0, "open_cases": 0, "outbox": 0}


@pytest.mark.parametrize(
    ("submit", "form"),
    [("submit_subsidy_application", subsidy_application), ("submit_tenancy_application", tenancy_application)],
)
def test_a_resident_cannot_apply_in_someone_elses_name(call, housing, submit, form):
    victim = form()
    attacker = call(subject_of(form()["id_number"]), "resident")
    with pytest.raises(Forbidden) as refused:
        getattr(attacker, submit)({**victim, "phone": "13900009999"})
    assert victim["id_number"] not in str(refused.value)
    assert stored(housing) == NOTHING  # no application, no claimed slot, no contact_provided to publish
    # the victim's own application still gets their one open-case slot
    assert getattr(call(subject_of(victim["id_number"]), "resident"), submit)(victim)["status"] == "submitted"


def test_a_kiosk_role_beside_the_resident_role_acts_for_no_one_else(call, housing):
    victim = subsidy_application()
    kiosk_resident = call(subject_of(subsidy_application()["id_number"]), "resident", "service")
    with pytest.raises(Forbidden):
        kiosk_resident.submit_subsidy_application(victim)
    assert stored(housing) == NOTHING


def test_probing_someone_with_an_open_case_learns_nothing_of_it(call, housing):
    victim = subsidy_application()
    held = call("cw-1", "caseworker").submit_subsidy_application(victim)["application_id"]
    before = stored(housing)
    with pytest.raises(Forbidden) as refused:
        call(subject_of(subsidy_application()["id_number"]), "resident").submit_subsidy_application(victim)
    assert held not in str(refused.value) and "open" not in str(refused.value)
    assert stored(housing) == before


def test_a_residents_own_duplicate_names_the_programme_not_a_case_id(call, housing):
    form = subsidy_application()
    me = call(subject_of(form["id_number"]), "resident")
    first = me.submit_subsidy_application(form)["application_id"]
    with pytest.raises(RemoteError) as raised:
        me.submit_tenancy_application(tenancy_application(id_number=form["id_number"]))
    assert raised.value.exc_type == "DuplicateApplication"
    assert "rent-subsidy" in raised.value.value and first not in raised.value.value
    # staff, who may read every case, are told which one holds the slot
    with pytest.raises(RemoteError) as raised:
        call("cw-1", "caseworker").submit_tenancy_application(tenancy_application(id_number=form["id_number"]))
    assert first in raised.value.value
