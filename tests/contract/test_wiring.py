"""Meta-tests that keep the event wiring honest across services.

* every consumer a contract names has a handler for it in that service;
* every handler a service declares subscribes to a contract that names that service as a consumer;
* every service's migrations apply cleanly from empty and reach the models' tables.
"""

import importlib

import pytest
from sqlalchemy import inspect

from shared.platform.config import SERVICES
from shared.platform.contracts import load_all
from shared.platform.db import make_engine
from shared.platform.event_consumer import ReliableEventHandler
from tests.support.databases import migrate


def service_class(service: str):
    module = importlib.import_module(f"services.{service}.service")
    return getattr(module, f"{service.capitalize()}Service")


def handlers_of(service: str) -> set[tuple[str, str]]:
    from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

    found = set()
    cls = service_class(service)
    for attr in dir(cls):
        for entrypoint in getattr(getattr(cls, attr), ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, ReliableEventHandler):
                found.add((entrypoint.source_service, entrypoint.event_type))
    return found


def test_every_named_consumer_has_a_handler():
    missing = [
        f"{consumer} does not handle {contract.source}.{contract.event_type}"
        for contract in load_all().all()
        for consumer in contract.consumers
        if consumer in SERVICES and (contract.source, contract.event_type) not in handlers_of(consumer)
    ]
    assert missing == []


@pytest.mark.parametrize("service", SERVICES)
def test_every_handler_subscribes_to_a_contract_naming_it(service):
    registry = load_all()
    orphans = [
        f"{service} handles {source}.{event_type} but no contract names it as a consumer"
        for source, event_type in handlers_of(service)
        if not any(
            service in contract.consumers
            for contract in registry.all()
            if (contract.source, contract.event_type) == (source, event_type)
        )
    ]
    assert orphans == []


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_apply_from_empty_and_match_the_models(service, sqlite_url):
    migrate(service, sqlite_url)
    models = importlib.import_module(f"services.{service}.models")
    engine = make_engine(sqlite_url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    expected = set(models.Base.metadata.tables) | {"outbox", "processed_events", "alembic_version"}
    assert expected <= tables


def test_event_catalogue_in_docs_is_current():
    from shared.cixi.contracts.catalogue import render
    from shared.platform.config import REPO_ROOT

    assert (REPO_ROOT / "docs" / "events.md").read_text(encoding="utf-8") == render(), (
        "docs/events.md is stale: python -m shared.cixi.contracts.catalogue > docs/events.md"
    )
