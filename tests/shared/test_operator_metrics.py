"""What operators miss (issue 18), measured where it happens: how many of a process's workers are busy, how
old its oldest unpublished outbox row is, and the AMQP timestamp the broker reports a queue's age from."""

from datetime import timedelta

import eventlet
import pytest
from kombu import Connection, Exchange, Queue
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import update
from sqlalchemy.orm import Session

from shared.platform.clock import utcnow, wall_timestamp
from shared.platform.db import make_engine
from shared.platform.metrics import OUTBOX_OLDEST_AGE, WORKERS_BUSY, WORKERS_SIZE
from shared.platform.models import OutboxMessage, SharedBase
from shared.platform.publishing import ConfirmedBatchPublisher, OutgoingMessage
from shared.platform.topology import dead_letter_queue, event_exchange
from tests.shared.sample_services import GATES, ListenerService, SampleBase, SamplerService
from tests.support.metrics import gauge_value, scrape
from tests.support.waiting import wait_for


@pytest.fixture
def sampler_url(sqlite_url):
    engine = make_engine(sqlite_url)
    SharedBase.metadata.create_all(engine)
    SampleBase.metadata.create_all(engine)
    engine.dispose()
    return sqlite_url


def test_busy_workers_count_the_running_ones_and_not_the_scrape(container_factory, service_config, sampler_url):
    config = service_config(sampler_url, max_workers=7)
    container = container_factory(SamplerService, config)
    container.start()
    assert gauge_value(WORKERS_SIZE, service="sampler") == 7
    assert wait_for(
        lambda: 'newcitizen_worker_pool_busy{service="sampler"} 0.0' in scrape(config["WEB_SERVER_ADDRESS"])
    )

    GATES["busy"] = eventlet.Event()
    with ServiceRpcProxy("sampler", config) as sampler:
        waiting = eventlet.spawn(sampler.pass_gate, "busy")
        wait_for(lambda: gauge_value(WORKERS_BUSY, service="sampler") == 1, what="one worker busy")
        GATES["busy"].send()
        assert waiting.wait() == 1
    assert wait_for(lambda: gauge_value(WORKERS_BUSY, service="sampler") == 0)


def test_the_oldest_unpublished_row_s_age_is_kept_and_falls_to_zero(container_factory, service_config, sampler_url):
    engine = make_engine(sampler_url)
    with Session(engine) as session:  # a row the relay never saw, too young for the sweep's grace
        session.add(OutboxMessage(event_id="e-1", exchange="sampler.events", routing_key="thing_happened",
                                  body="{}", created_at=utcnow() - timedelta(minutes=5), attempts=0))  # fmt: skip
        session.commit()
    config = service_config(sampler_url, OUTBOX_SWEEP_SECONDS=0.2, OUTBOX_SWEEP_GRACE_SECONDS=3600)
    container_factory(SamplerService, config).start()
    assert wait_for(lambda: (gauge_value(OUTBOX_OLDEST_AGE, service="sampler") or 0) >= 300)

    with Session(engine) as session:
        session.execute(update(OutboxMessage).values(published_at=utcnow()))
        session.commit()
    engine.dispose()
    assert wait_for(lambda: gauge_value(OUTBOX_OLDEST_AGE, service="sampler") == 0.0)


def test_a_published_event_carries_the_wall_clock_timestamp_the_broker_ages_it_by(rabbit_config):
    exchange = Exchange("stamped.events", type="topic", durable=True)
    queue = Queue("stamped", exchange=exchange, routing_key="thing_done", durable=True)
    publisher = ConfirmedBatchPublisher(rabbit_config["AMQP_URI"], [exchange, queue])
    sent_from = wall_timestamp()
    publisher.publish([OutgoingMessage("{}", "stamped.events", "thing_done", "m-1")])
    publisher.close()
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        message = queue(connection.channel()).get(no_ack=True)
    assert sent_from <= message.properties["timestamp"] <= wall_timestamp()


def test_a_dead_letter_is_stamped_when_it_was_dead_lettered(container_factory, service_config, sampler_url):
    """So the DLQ's head age says how long a dead letter has waited for its replay, not when it was first sent."""
    config = service_config(sampler_url)
    container_factory(ListenerService, config).start()
    sent_from = wall_timestamp()
    with Connection(config["AMQP_URI"]) as connection:
        connection.Producer().publish(
            {"not": "an envelope"}, exchange=event_exchange("sampler"), routing_key="thing_happened",
            timestamp=1_000_000_000, declare=[event_exchange("sampler")],
        )  # fmt: skip
        dlq = dead_letter_queue("listener", config)(connection.channel())
        dlq.declare()
        letter = wait_for(lambda: dlq.get(no_ack=True), what="the dead letter")
    assert sent_from <= letter.properties["timestamp"] <= wall_timestamp()
