"""Slow and flooding HTTP clients cannot take a service's workers (issue 22, item 3): headers and bodies have
deadlines, a port has a connection cap, and HTTP routes run only in their own share of the pool."""

import eventlet
import pytest
import requests
from eventlet.event import Event
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.utils import find_free_port

from shared.platform.db import Database
from shared.platform.rpc import rpc
from shared.platform.service import PlatformService
from shared.platform.web import http, json_response
from tests.support.slow_http import read_until_closed, slow_body_post, slow_headers
from tests.support.waiting import wait_for

RELEASE = Event()
LIMITS = {
    "HTTP_HEADER_TIMEOUT_SECONDS": 0.5,
    "HTTP_BODY_TIMEOUT_SECONDS": 0.5,
    "HTTP_MAX_BODY_BYTES": 1000,
    "HTTP_MAX_WORKERS": 2,
    "HTTP_ROUTE_MAX_WORKERS": 1,
    "HTTP_MAX_CONNECTIONS": 20,
    "HTTP_MAX_PROBE_CONNECTIONS": 2,
}


class GuardedService(PlatformService):
    name = "guarded"
    db = Database()

    @rpc
    def ping(self):
        return "pong"

    @http("POST", "/hold")
    def hold(self, request):
        RELEASE.wait()
        return json_response({"length": len(request.get_data())})


@pytest.fixture
def guarded(container_factory, service_config, sqlite_url):
    global RELEASE
    RELEASE = Event()
    address = f"127.0.0.1:{find_free_port()}"
    config = service_config(sqlite_url, WEB_SERVER_ADDRESS=address, max_workers=2, **LIMITS)
    container = container_factory(GuardedService, config)
    container.start()
    with ServiceRpcProxy("guarded", config, timeout=20) as proxy:  # the timeout only catches a hang
        yield container, address, proxy
    if not RELEASE.ready():
        RELEASE.send(None)


def test_a_stalled_header_is_closed_by_the_server(guarded):
    _, address, proxy = guarded
    clients = [slow_headers(address) for _ in range(12)]
    assert proxy.ping() == "pong"
    assert all(read_until_closed(sock) == b"" for sock in clients)
    assert requests.get(f"http://{address}/livez", timeout=5).status_code == 200


def test_a_stalled_body_is_answered_408_and_closed_without_a_worker(guarded):
    container, address, proxy = guarded
    clients = [slow_body_post(address, "/hold", length=900) for _ in range(12)]
    assert proxy.ping() == "pong"
    # the bodies are read before any worker exists
    assert not [ctx for ctx in container._worker_threads if ctx.entrypoint.method_name == "hold"]
    answers = [read_until_closed(sock) for sock in clients]
    assert all(answer.startswith(b"HTTP/1.1 408") for answer in answers), answers[0]


def test_an_oversized_body_is_refused_413(guarded):
    _, address, _ = guarded
    response = requests.post(f"http://{address}/hold", data=b"x" * 1001, timeout=5)
    assert response.status_code == 413 and response.json() == {"error": "body too large"}


def test_a_full_route_answers_503_and_rpc_keeps_its_workers(guarded):
    container, address, proxy = guarded
    held = eventlet.spawn(requests.post, f"http://{address}/hold", data=b"{}", timeout=20)
    wait_for(lambda: len(container._worker_threads) == 1, what="the route's one worker held")
    busy = requests.post(f"http://{address}/hold", data=b"{}", timeout=5)
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"
    assert [proxy.ping() for _ in range(2)] == ["pong", "pong"]
    RELEASE.send(None)
    assert held.wait().json() == {"length": 2}


def test_connections_over_the_cap_are_refused_503_but_probes_are_answered(guarded):
    _, address, proxy = guarded
    clients = [slow_body_post(address, "/hold", length=900) for _ in range(LIMITS["HTTP_MAX_CONNECTIONS"])]

    def status(path):
        try:
            return requests.get(f"http://{address}{path}", timeout=5).status_code
        except requests.ConnectionError:  # the refusal can cross the request it refuses
            return None

    wait_for(lambda: status("/metrics") == 503, what="a connection over the cap refused")
    assert status("/livez") == 200 and status("/readyz") == 200  # the kubelet's probes still get through
    assert proxy.ping() == "pong"
    # the probes' own few slots, held by stalled headers, are given back after the header timeout
    stalled = [slow_headers(address) for _ in range(LIMITS["HTTP_MAX_PROBE_CONNECTIONS"])]
    for sock in stalled:
        assert b"503" in read_until_closed(sock)
    assert status("/livez") == 200
    for sock in clients:
        read_until_closed(sock)
    wait_for(lambda: status("/metrics") == 200, what="metrics again")


def test_a_livez_flood_opens_no_broker_connection_and_rpc_answers(guarded, rabbit_manager, rabbit_config):
    _, address, proxy = guarded
    vhost = rabbit_config["vhost"]

    def connections():
        return {c["name"] for c in rabbit_manager.get_connections() if c.get("vhost") == vhost}

    before = wait_for(connections, what="the service's connections listed")
    pool = eventlet.GreenPool(200)
    flood = [pool.spawn(requests.get, f"http://{address}/livez", timeout=20) for _ in range(200)]
    assert proxy.ping() == "pong"
    statuses = [call.wait().status_code for call in flood]
    assert set(statuses) <= {200, 503} and 200 in statuses  # 503: over the connection cap, at once
    assert connections() <= before
