"""Every service's outbox and processed-event ledger are bounded by the platform's rules, run by `purge`."""

from datetime import timedelta

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, sessionmaker

from shared.platform.clock import process_clock
from shared.platform.config import SERVICES
from shared.platform.db import make_engine
from shared.platform.models import LEDGER_AGE_INDEX, OutboxMessage, ProcessedEvent, SharedBase
from shared.platform.retention import (
    DLQ_REPLAY_MARGIN_DAYS,
    LEDGER_DAYS,
    PLATFORM_RULES,
    PROCESSED_EVENTS,
    Kept,
    dlq_replay_window,
    purge,
)
from shared.platform.topology import DEFAULT_RETRY_DELAYS_MS
from tests.support.databases import migrate


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    SharedBase.metadata.create_all(engine)
    yield engine
    engine.dispose()


def seed(engine, now) -> None:
    with Session(engine) as session:
        for event_id, created_days, published_days in (
            ("published-old", 40, 39),
            ("published-recent", 2, 1),
            ("unpublished-ancient", 400, None),
            ("unpublished-recent", 0, None),
        ):
            published_at = None if published_days is None else now - timedelta(days=published_days)
            session.add(
                OutboxMessage(
                    event_id=event_id,
                    exchange="housing.events",
                    routing_key="subsidy_approved",
                    body="{}",
                    created_at=now - timedelta(days=created_days),
                    published_at=published_at,
                )
            )
        for consumer, event_id, days in (
            ("stats.on_a", "old", LEDGER_DAYS + 1),
            ("notify.on_a", "old", LEDGER_DAYS + 5),
            ("stats.on_a", "recent", LEDGER_DAYS - 1),
        ):
            session.add(ProcessedEvent(consumer=consumer, event_id=event_id, processed_at=now - timedelta(days=days)))
        session.commit()


def remaining(engine) -> tuple[list, list]:
    with Session(engine) as session:
        outbox = sorted(session.scalars(select(OutboxMessage.event_id)))
        ledger = sorted(tuple(row) for row in session.execute(select(ProcessedEvent.consumer, ProcessedEvent.event_id)))
        return outbox, ledger


def test_old_published_rows_and_old_ledger_rows_go_the_rest_stays(engine):
    now = process_clock().now()
    seed(engine, now)
    factory = sessionmaker(bind=engine, expire_on_commit=False)

    report = purge(factory, PLATFORM_RULES, {}, now, dry_run=True)
    assert report["published_outbox"]["due"] == 1 and report["processed_events"]["due"] == 2
    assert remaining(engine)[0] == ["published-old", "published-recent", "unpublished-ancient", "unpublished-recent"]

    report = purge(factory, PLATFORM_RULES, {}, now, dry_run=False, batch_size=1)
    assert report["published_outbox"]["erased"] == 1 and report["processed_events"]["erased"] == 2
    assert remaining(engine) == (
        ["published-recent", "unpublished-ancient", "unpublished-recent"],
        [("stats.on_a", "recent")],
    )

    again = purge(factory, PLATFORM_RULES, {}, now, dry_run=False)
    assert again["published_outbox"]["erased"] == 0 and again["processed_events"]["erased"] == 0


def test_an_unpublished_row_is_never_due_whatever_the_period(engine):
    now = process_clock().now()
    seed(engine, now)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    purge(factory, PLATFORM_RULES, {"RETENTION_DAYS": {"published_outbox": 0}}, now, dry_run=False)
    assert remaining(engine)[0] == ["unpublished-ancient", "unpublished-recent"]


def test_a_kept_record_is_reported_and_nothing_is_erased(engine):
    report = purge(
        sessionmaker(bind=engine), (Kept("stats_archive", "kept: rebuild reads it"),), {}, process_clock().now()
    )
    assert report == {"stats_archive": {"kept": "kept: rebuild reads it", "description": ""}}


def test_the_ledger_outlives_the_retry_chain_and_the_dlq_replay_window():
    retry_chain = timedelta(milliseconds=sum(DEFAULT_RETRY_DELAYS_MS))
    window = dlq_replay_window({})
    assert retry_chain < window < timedelta(days=LEDGER_DAYS)
    assert window == timedelta(days=LEDGER_DAYS - DLQ_REPLAY_MARGIN_DAYS)
    configured = {"RETENTION_DAYS": {PROCESSED_EVENTS.kind: 60}}  # one setting moves both
    assert dlq_replay_window(configured) == timedelta(days=60 - DLQ_REPLAY_MARGIN_DAYS)


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_database_indexes_the_ledger_by_age(db_url, service):
    """A purge batch selects the ledger rows older than its cutoff: migrated, each service's ledger has
    the index that query reads instead of a scan of the whole table."""
    migrate(service, db_url)
    engine = make_engine(db_url)
    try:
        indexes = {index["name"]: index["column_names"] for index in inspect(engine).get_indexes("processed_events")}
    finally:
        engine.dispose()
    assert indexes.get(LEDGER_AGE_INDEX) == ["processed_at"]
