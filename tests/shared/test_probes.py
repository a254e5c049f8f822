"""/livez answers while the broker or the database is gone; /readyz says so at once, from the connections
the service already holds, outside its worker pool."""

import eventlet
import pytest
import requests
from eventlet.event import Event
from nameko.testing.services import entrypoint_waiter
from nameko.testing.utils import find_free_port
from sqlalchemy import create_engine, text

from shared.platform.db import Database
from shared.platform.rpc import rpc
from shared.platform.service import PlatformService
from tests.conftest import POSTGRES_ADMIN_URL
from tests.support.waiting import wait_for

RELEASE = Event()


class ProbedService(PlatformService):
    name = "probed"
    db = Database()

    @rpc
    def hold(self):
        """Keeps a worker until the test lets it go."""
        RELEASE.wait()


@pytest.fixture
def probed(container_factory, service_config, postgres_url):
    global RELEASE
    RELEASE = Event()
    address = f"127.0.0.1:{find_free_port()}"
    container = container_factory(
        ProbedService, service_config(postgres_url, WEB_SERVER_ADDRESS=address, max_workers=2)
    )
    container.start()
    yield container, f"http://{address}"
    if not RELEASE.ready():
        RELEASE.send(None)


def get(url: str) -> requests.Response:
    return requests.get(url, timeout=5)  # the bound of a hung probe, not a timed assertion


def vhost_connections(rabbit_manager, vhost: str) -> set[str]:
    return {c["name"] for c in rabbit_manager.get_connections() if c.get("vhost") == vhost}


def test_both_probes_answer_ok_when_everything_is_up(probed):
    _, base = probed
    live, ready, health = get(f"{base}/livez"), get(f"{base}/readyz"), get(f"{base}/health")
    assert live.status_code == 200 and live.json()["status"] == "ok"
    assert ready.status_code == 200
    assert ready.json() | {"version": None} == {
        "service": "probed", "status": "ok", "db": "ok", "broker": "ok", "version": None,
    }  # fmt: skip
    assert health.status_code == 200 and health.json() == ready.json()


def test_probes_answer_while_every_worker_is_busy(probed, rabbit_config):
    from nameko.standalone.rpc import ServiceRpcProxy

    container, base = probed
    proxies = [ServiceRpcProxy("probed", rabbit_config) for _ in range(2)]
    calls = []
    for proxy in proxies:
        calls.append(eventlet.spawn(lambda p=proxy: p.__enter__().hold()))
    wait_for(lambda: len(container._worker_threads) == 2, what="both workers held")
    assert get(f"{base}/livez").status_code == 200
    assert get(f"{base}/readyz").status_code == 200
    RELEASE.send(None)
    for call in calls:
        call.wait()
    for proxy in proxies:
        proxy.__exit__(None, None, None)


def test_parallel_readiness_probes_open_no_broker_connection(probed, rabbit_manager, rabbit_config):
    _, base = probed
    vhost = rabbit_config["vhost"]
    before = wait_for(lambda: vhost_connections(rabbit_manager, vhost), what="the service's connections listed")
    seen = set()
    pool = eventlet.GreenPool(200)
    sampler_done = Event()

    def sample():
        while not sampler_done.ready():
            seen.update(vhost_connections(rabbit_manager, vhost))
            eventlet.sleep(0.01)

    sampler = eventlet.spawn(sample)
    statuses = list(pool.imap(lambda _: get(f"{base}/readyz").status_code, range(200)))
    sampler_done.send(None)
    sampler.wait()
    assert statuses == [200] * 200
    assert seen <= before
    assert vhost_connections(rabbit_manager, vhost) == before


def test_with_the_vhost_gone_liveness_stays_and_readiness_fails(probed, rabbit_manager, rabbit_config):
    _, base = probed
    vhost, user = rabbit_config["vhost"], rabbit_config["username"]
    rabbit_manager.delete_vhost(vhost)
    try:
        wait_for(lambda: get(f"{base}/readyz").status_code == 503, what="readyz 503 without the vhost")
        body = get(f"{base}/readyz").json()
        assert body["broker"] == "error" and body["db"] == "ok"
        assert get(f"{base}/livez").status_code == 200
    finally:  # the vhost back, for the fixture to delete; the service reconnects to it by itself
        rabbit_manager.create_vhost(vhost)
        rabbit_manager.set_vhost_permissions(vhost, user, ".*", ".*", ".*")
    wait_for(lambda: get(f"{base}/readyz").status_code == 200, what="readyz back with the vhost")


def test_with_the_database_gone_liveness_stays_and_readiness_fails(probed, postgres_url):
    container, base = probed
    name = postgres_url.rsplit("/", 1)[1]
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"UPDATE pg_database SET datallowconn = false WHERE datname = '{name}'"))
        connection.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
    try:
        wait_for(lambda: get(f"{base}/readyz").status_code == 503, what="readyz 503 without the database")
        body = get(f"{base}/readyz").json()
        assert body["db"] == "error" and body["broker"] == "ok"
        assert get(f"{base}/livez").status_code == 200
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"UPDATE pg_database SET datallowconn = true WHERE datname = '{name}'"))
        admin.dispose()
    wait_for(lambda: get(f"{base}/readyz").status_code == 200, what="readyz back with the database")


def test_probes_are_not_workers(probed):
    container, base = probed
    with entrypoint_waiter(container, "http_metrics"):
        get(f"{base}/metrics")
    metrics = get(f"{base}/metrics").text
    get(f"{base}/readyz")
    assert 'entrypoint="http_readyz"' not in get(f"{base}/metrics").text
    assert 'entrypoint="http_metrics"' in metrics
