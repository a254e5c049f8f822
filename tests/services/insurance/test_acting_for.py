"""Eligibility answers disclose records (employment registration, a parent's cover), so a resident may ask
only about themselves, or as the parent asking about a child who is a minor today; the kiosk role reads no
one's cases. Real RPC on a real broker, SQLite and PostgreSQL, the platform clock frozen."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import func, select

from services.insurance.service import InsuranceService
from shared.platform.clock import Clock
from shared.platform.db import make_engine
from shared.platform.errors import Forbidden
from shared.platform.models import OutboxMessage
from tests.support.databases import migrate
from tests.support.residents import subject_of

from .conftest import id_number

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 on 2 March 2026 in Cixi
PERMIT = {"number": "ZJ33028201", "issued_in_cixi": True, "valid_until": "2027-06-30"}
VICTIM = id_number(date(1990, 5, 17), serial=41)  # an adult today, a child in 2000
ME = id_number(date(1992, 3, 8), male=False, serial=52)
MY_CHILD = id_number(date(2023, 9, 1), serial=7)


def person(number: str, parent: str | None = None) -> dict:
    who = {"id_number": number, "hukou": "other", "residence_permit": PERMIT}
    return {**who, "parent": {"id_number": parent, "hukou": "other", "residence_permit": PERMIT}} if parent else who


@pytest.fixture
def insurance(db_url, service_config, container_factory, token_for):
    """A running insurance service whose records know the victim: employed (flexible) and medically insured."""
    migrate("insurance", db_url)
    config = service_config(db_url, RENEWAL_SWEEP_SECONDS=3600)
    container = container_factory(InsuranceService, config)
    next(dep for dep in container.dependencies if isinstance(dep, Clock)).frozen = NOW
    container.start()
    proxies = []

    def as_(subject: str, *roles: str):
        proxy = ServiceRpcProxy("insurance", config, context_data={"authorization": token_for(subject, *roles)})
        proxies.append(proxy)
        return proxy.start()

    caseworker = as_("cw-li", "caseworker")
    caseworker.register_employment(
        {"resident": person(VICTIM), "kind": "flexible", "start_date": "2026-01-05", "town": "浒山"}
    )
    enrolment = caseworker.enrol_medical({"resident": person(VICTIM), "route": "resident", "town": "浒山"})
    as_("rv-wang", "reviewer").activate_enrolment(enrolment["enrolment_id"])
    yield as_, config, enrolment["enrolment_id"]
    for proxy in proxies:
        proxy.stop()


def outbox_rows(config) -> int:
    engine = make_engine(config["DATABASE_URL"])
    with engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(OutboxMessage))
    engine.dispose()
    return count


@pytest.mark.parametrize(
    ("label", "resident", "scheme", "on"),
    [
        ("someone else", person(VICTIM), "pension", None),
        ("an adult named as my child", person(VICTIM, parent=ME), "pension", None),
        ("an adult as my child, on a day they were one", person(VICTIM, parent=ME), "pension", "2000-01-01"),
        ("myself with someone else as my parent", person(ME, parent=VICTIM), "medical", None),
        ("a child with someone else as the parent", person(MY_CHILD, parent=VICTIM), "medical.preschool", None),
    ],
)
def test_a_resident_cannot_read_someone_elses_records(insurance, label, resident, scheme, on):
    as_, config, _ = insurance
    before = outbox_rows(config)
    with pytest.raises(Forbidden) as refused:
        as_(subject_of(ME), "resident").check_eligibility(resident, scheme, on)
    assert VICTIM not in str(refused.value) and "flexible" not in str(refused.value)
    assert outbox_rows(config) == before


def test_a_resident_asks_about_themselves_and_their_minor_child(insurance):
    as_, _, _ = insurance
    me = as_(subject_of(ME), "resident")
    assert me.check_eligibility(person(ME), "pension.flexible")["eligible"] is False  # not registered
    answer = me.check_eligibility(person(MY_CHILD, parent=ME), "medical.preschool")
    assert answer["eligible"] is True
    # the victim asking about themselves sees their own records
    victim = as_(subject_of(VICTIM), "resident").check_eligibility(person(VICTIM), "pension.flexible")
    assert victim["eligible"] is True


@pytest.mark.parametrize("roles", [("service",), ("service", "resident")])
def test_the_kiosk_role_reads_no_ones_cases(insurance, roles):
    as_, _, enrolment_id = insurance
    kiosk = as_(subject_of(ME), *roles)
    with pytest.raises(Forbidden):
        kiosk.check_eligibility(person(VICTIM), "pension")
    if roles == ("service",):
        with pytest.raises(Forbidden):
            kiosk.get_enrolment(enrolment_id)
        with pytest.raises(Forbidden):
            kiosk.list_enrolments({})
    else:  # the resident in it still sees only their own
        assert kiosk.list_enrolments({})["total"] == 0
