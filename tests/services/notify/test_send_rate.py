"""The provider's send rate is one limit for every notify replica: the token bucket lives in notify's
database (services/notify/send_rate.py), not in each process, so N replicas no longer send N times it."""

from collections import Counter

import eventlet
import pytest
from eventlet.greenpool import GreenPool
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from services.notify.send_rate import SERVER_EPOCH, SharedTokenBucket
from shared.platform.db import make_engine
from tests.services.notify.conftest import DAYTIME
from tests.services.notify.test_broadcast import TITLE, completed, progress_when
from tests.support.databases import migrate

REPLICAS = 3


@pytest.fixture
def replica_sessions(db_url):
    """What three notify processes on one database hold: each its own engine and pool."""
    migrate("notify", db_url)
    engines = [make_engine(db_url) for _ in range(REPLICAS)]
    yield [sessionmaker(bind=engine, expire_on_commit=False) for engine in engines]
    for engine in engines:
        engine.dispose()


def server_seconds(session_factory) -> float:
    with session_factory() as session:
        return session.scalar(select(SERVER_EPOCH[session.get_bind().dialect.name]))


def test_replicas_drawing_at_once_get_no_more_than_the_burst_plus_the_rate(replica_sessions):
    rate, burst, batch, batches = 400.0, 50.0, 10, 10
    buckets = [SharedTokenBucket(factory, "sms", rate, burst) for factory in replica_sessions]
    began = server_seconds(replica_sessions[0])

    def replica(bucket):
        for _ in range(batches):
            bucket.take(batch, sleep=eventlet.sleep)
        return batch * batches

    pool = GreenPool(REPLICAS)
    taken = sum(pool.imap(replica, buckets))
    elapsed = server_seconds(replica_sessions[0]) - began
    # a bucket per process would let each replica take its own burst and rate: 300 tokens in ~0.13 s
    assert taken == REPLICAS * batch * batches
    assert elapsed >= (taken - burst) / rate


def test_a_bucket_refuses_what_it_has_not_got_and_says_how_long_to_wait(replica_sessions):
    first, second = (SharedTokenBucket(factory, "wechat", 10, 5) for factory in replica_sessions[:2])
    assert first.try_take(5) == 0
    wait = second.try_take(5)  # the other replica's draw emptied the one bucket
    assert 0 < wait <= 0.5
    with pytest.raises(ValueError):
        SharedTokenBucket(replica_sessions[0], "sms", 0, 1)


def test_three_notify_replicas_never_exceed_the_gateways_limit(start_notify, token_for):
    """A broadcast sent by three replicas against a gateway that answers 429 above its rate."""
    rate, burst = 200, 100
    # small claims, so that the replicas share the broadcast's messages between them
    limits = {"SMS_RATE_PER_SECOND": rate, "SMS_BURST": burst, "DISPATCH_CLAIM_SIZE": 50}
    # the gateway's burst has one batch of slack for requests that left notify spaced and arrived bunched
    first = start_notify(at=DAYTIME, gateway_options={"rate": rate, "burst": 2 * burst}, **limits)
    others = [
        start_notify(
            gateway=False,
            at=DAYTIME,
            SMS_PROVIDER="gateway",
            SMS_GATEWAY_URL=first.gateway,
            SMS_GATEWAY_KEY="dev-gateway-key",
            **limits,
        )  # fmt: skip
        for _ in range(REPLICAS - 1)
    ]
    assert all(other.config["DATABASE_URL"] == first.config["DATABASE_URL"] for other in others)
    drawn = count_draws([first, *others])
    first.add_contacts(600)
    admin = token_for("admin", "admin")
    with first.rpc(admin) as rpc:
        broadcast = rpc.broadcast("policy_notice", {"all": True}, TITLE)
    progress = progress_when(first, admin, broadcast["id"], completed, timeout=120)
    assert progress["by_status"]["delivered"] == 600
    stats = first.gateway_stats()
    assert stats["calls"] >= 600 / 50 and stats.get("throttled_calls", 0) == 0, stats
    assert sum(drawn.values()) == 600
    assert len(drawn) >= 2, f"one replica sent everything, so nothing was shared: {drawn}"


def count_draws(replicas) -> Counter:
    """SMS tokens each replica's bucket granted (its own bucket object, observed)."""
    drawn: Counter = Counter()
    for number, replica in enumerate(replicas):
        bucket = replica.courier.buckets["sms"]

        def counted(count=1, draw=bucket.try_take, number=number):
            wait = draw(count)
            if wait == 0:
                drawn[number] += count
            return wait

        bucket.try_take = counted
    return drawn
