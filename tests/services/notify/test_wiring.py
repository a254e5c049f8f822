"""Meta-tests that keep notify's wiring honest: consumers match the contracts, migrations apply and
revert cleanly, the published contracts carry no phone field."""

from alembic import command
from sqlalchemy import create_engine, inspect

from services.notify.service import NotifyService
from shared.consumer import ReliableEventHandler
from shared.contracts import load_all
from shared.migrations import alembic_config, upgrade


def consumed_by_notify() -> set[tuple[str, str]]:
    handled = set()
    for name in dir(NotifyService):
        method = getattr(NotifyService, name)
        for entrypoint in getattr(method, "nameko_entrypoints", ()):
            if isinstance(entrypoint, ReliableEventHandler):
                handled.add((entrypoint.source_service, entrypoint.event_type))
    return handled


def test_every_contract_naming_notify_has_a_handler_and_back():
    registry = load_all()
    promised = {(c.source, c.event_type) for c in registry.consumed_by("notify")}
    assert promised == consumed_by_notify()


def test_notify_events_carry_no_phone_field():
    for contract in load_all().published_by("notify"):
        names = set(contract.schema().fields)
        assert not {"phone", "mobile", "phone_encrypted"} & names, contract.event_type
        assert contract.consumers == ("stats",)


def test_migrations_apply_and_revert_from_empty(sqlite_url):
    upgrade("notify", sqlite_url)
    engine = create_engine(sqlite_url)
    tables = set(inspect(engine).get_table_names())
    assert {"contacts", "opt_outs", "templates", "notifications", "broadcasts", "early_receipts"} <= tables
    command.downgrade(alembic_config("notify", sqlite_url), "notify_0001")
    assert "notifications" not in set(inspect(engine).get_table_names())
    engine.dispose()
