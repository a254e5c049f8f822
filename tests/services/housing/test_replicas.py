"""Three housing replicas on one database share the outbox and the monthly disbursement without doubling:
each event reaches the broker once, each subsidy is paid once for a period.

PostgreSQL only: several replicas of a service need it (docs/operations.md, "Scale a service": on SQLite one
replica per service; its outbox sweep cannot skip another replica's locked rows).
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import eventlet
import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_hook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench.housing_disbursement import seed
from services.housing.models import Disbursement
from services.housing.service import HousingService
from shared.platform.clock import Clock
from shared.platform.db import make_engine
from shared.platform.models import OutboxMessage
from shared.platform.outbox import Outbox, OutboxWriter
from tests.services.housing.conftest import EventCapture, subsidy_application
from tests.shared.test_outbox_add_many import disbursed
from tests.support.databases import migrate
from tests.support.waiting import wait_for

pytestmark = pytest.mark.postgres

REPLICAS = 3
JUNE_IS_DUE = datetime(2025, 6, 15, 4, tzinfo=UTC)


@pytest.fixture
def replicas(postgres_url, service_config, container_factory):
    """What three housing processes on one database are: each its own broker connections, pool and relay."""
    migrate("housing", postgres_url)
    started = []
    for _ in range(REPLICAS):
        container = container_factory(HousingService, service_config(postgres_url))
        container.start()
        started.append(container)
    return started


@pytest.fixture
def engine(postgres_url):
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture
def captured(replicas):
    capture = EventCapture(replicas[0].config["AMQP_URI"])
    yield capture
    capture.close()


def outbox_of(container) -> Outbox:
    return next(dep for dep in container.dependencies if isinstance(dep, Outbox))


def count_publishes(replicas) -> Counter:
    """Rows each replica's relay or sweep published (its own outbox dependency, observed)."""
    published: Counter = Counter()
    for number, container in enumerate(replicas):
        outbox = outbox_of(container)

        def counted(session, rows, publish=outbox._publish_rows, number=number):
            count = publish(session, rows)
            published[number] += count
            return count

        outbox._publish_rows = counted
    return published


def relayed_everything(engine, replicas) -> bool:
    """No row left unpublished and no replica still publishing: every publish that will happen has."""
    with Session(engine) as session:
        left = session.scalar(select(func.count()).where(OutboxMessage.published_at.is_(None)))
    return left == 0 and not any(outbox_of(container).relay_busy() for container in replicas)


def broker_copies(captured: EventCapture) -> Counter:
    """How many times the broker received each event id: the capture queue holds every confirmed publish,
    so reading it until empty reads them all."""
    queue = captured.queue(captured.connection.default_channel)
    while (message := queue.get(no_ack=True)) is not None:
        captured.seen.append(json.loads(message.body))
    return Counter(event["event_id"] for event in captured.seen)


def publish_attempts(engine) -> Counter:
    """Rows by how many times they were published (`attempts` counts each publish that was marked)."""
    with Session(engine) as session:
        return Counter(dict(session.execute(select(OutboxMessage.attempts, func.count()).group_by("attempts")).all()))


def left_behind(engine, count: int) -> None:
    """Unpublished rows no relay was handed, as a crash between commit and relay leaves them: the sweeps'."""
    with Session(engine) as session:
        OutboxWriter(session, "housing", None, []).add_many("subsidy_disbursed", [disbursed(n) for n in range(count)])
        session.commit()


def test_three_replicas_relaying_one_outbox_publish_each_event_once(replicas, engine, captured, token_for):
    published = count_publishes(replicas)
    left_behind(engine, 600)  # swept by all three while they relay their own workers' rows
    token = token_for("cw-1", "caseworker")

    def caseworker(applications: int) -> None:
        with ServiceRpcProxy("housing", replicas[0].config, context_data={"authorization": token}) as rpc:
            for _ in range(applications):
                rpc.submit_subsidy_application(subsidy_application())

    pool = eventlet.GreenPool(10)
    for _ in range(10):
        pool.spawn(caseworker, 15)
    pool.waitall()
    wait_for(lambda: relayed_everything(engine, replicas), timeout=60, what="the outbox relayed")

    with Session(engine) as session:
        written = set(session.scalars(select(OutboxMessage.event_id)))
    copies = broker_copies(captured)
    assert set(copies) == written
    assert {count for count in copies.values()} == {1}, Counter(copies.values())
    assert publish_attempts(engine) == {1: len(written)}
    assert sum(published.values()) == len(written)
    assert len(published) == REPLICAS, f"the replicas did not all relay: {published}"


def test_three_replicas_paying_one_period_at_once_pay_each_subsidy_once(replicas, engine, captured, token_for):
    subsidies = 2000
    with Session(engine) as session:
        seed(session, subsidies)  # approved subsidies for 2025-01 .. 2025-12
    for container in replicas:
        next(dep for dep in container.dependencies if isinstance(dep, Clock)).frozen = JUNE_IS_DUE
    published = count_publishes(replicas)
    context = {"authorization": token_for("ops", "admin")}

    def pay(container) -> dict:
        with entrypoint_hook(container, "run_disbursement", context_data=context) as run_disbursement:
            return run_disbursement("2025-06")

    results = list(eventlet.GreenPool(REPLICAS).imap(pay, replicas))
    assert sum(result["paid"] for result in results) == subsidies, results
    with Session(engine) as session:
        payments = session.execute(
            select(Disbursement.resident_id, func.count())
            .where(Disbursement.period == "2025-06")
            .group_by("resident_id")
        ).all()
    assert len(payments) == subsidies and {count for _, count in payments} == {1}

    wait_for(lambda: relayed_everything(engine, replicas), timeout=60, what="the outbox relayed")
    copies = broker_copies(captured)
    paid = Counter(event["data"]["resident_id"] for event in captured.of_type("subsidy_disbursed"))
    assert len(paid) == subsidies and set(paid.values()) == {1}
    assert set(copies.values()) == {1} and len(copies) == subsidies
    assert publish_attempts(engine) == {1: subsidies}
    assert sum(published.values()) == subsidies
