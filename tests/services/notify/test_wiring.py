"""Meta-tests that keep notify's wiring honest: consumers match the contracts, migrations apply and
revert cleanly, the published contracts carry no phone field."""

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import JSON, column, create_engine, insert, inspect, select, table

from services.notify.models import Notification
from services.notify.service import NotifyService
from shared.platform.contracts import load_all
from shared.platform.db import make_engine
from shared.platform.event_consumer import ReliableEventHandler
from shared.platform.migrations import alembic_config, upgrade


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


def test_migration_0006_keeps_the_out_id_of_rows_in_flight(db_url):
    """A row sent under <id>.<attempts> keeps that number (its receipt must still match; after a technical
    failure it goes again under it); a temporary failure waiting for its retry moves on to the next one."""
    upgrade("notify", db_url, "notify_0005")
    now = datetime.now(UTC)
    before = table(
        "notifications", *(column(c.name, c.type) for c in Notification.__table__.c if c.name != "submission")
    )
    common = {"resident_id": "r", "channel": "sms", "kind": "transactional", "template_id": "t",
              "template_version": 1, "personalisation": {}, "body": "b", "billed_length": 1, "segments": 1,
              "created_at": now, "updated_at": now}  # fmt: skip
    expected = {}
    engine = make_engine(db_url)
    with engine.begin() as connection:
        for nid, status, attempts, waiting, submission in (
            ("new", "created", 0, True, 1),
            ("sending", "sending", 2, False, 2),
            ("after-temporary", "temporary-failure", 1, True, 2),
            ("after-technical", "technical-failure", 1, True, 1),
            ("final", "temporary-failure", 3, False, 3),
        ):
            values = {"id": nid, "dedupe_key": nid, "status": status, "attempts": attempts}
            connection.execute(insert(before).values(**common, **values, next_attempt_at=now if waiting else None))
            expected[nid] = submission
    engine.dispose()
    upgrade("notify", db_url)
    engine = make_engine(db_url)
    with engine.connect() as connection:
        notifications = Notification.__table__
        got = dict(connection.execute(select(notifications.c.id, notifications.c.submission)).all())
    engine.dispose()
    assert got == expected


def test_migration_0008_adds_a_version_with_the_codes_of_the_one_before_and_reverts(db_url):
    upgrade("notify", db_url)
    engine = make_engine(db_url)
    templates = table("templates", column("template_id"), column("version"), column("body"))
    codes = table("provider_templates", column("template_id"), column("version"), column("provider"),
                  column("code"), column("variables", JSON))  # fmt: skip
    changed = ("registration_cancelled", "seat_offered", "enrolment_rejected", "enrolment_suspended")

    def rows():
        with engine.connect() as connection:
            versions = connection.execute(select(templates).where(templates.c.template_id.in_(changed))).all()
            registered = connection.execute(select(codes).where(codes.c.template_id == "enrolment_rejected")).all()
        return {(t.template_id, t.version) for t in versions}, {(c.version, c.provider): c for c in registered}

    versions, registered = rows()
    assert versions == {(template_id, version) for template_id in changed for version in (1, 2)}
    assert {key: row.code for key, row in registered.items() if key[0] == 2} == {
        (2, provider): registered[(1, provider)].code for provider in ("aliyun", "tencent")
    }
    assert registered[(2, "aliyun")].variables == ["who", "scheme", "reasons", "office"]
    command.downgrade(alembic_config("notify", db_url), "notify_0007")
    versions, registered = rows()
    assert {version for _, version in versions} == {1} and {version for version, _ in registered} == {1}
    engine.dispose()
