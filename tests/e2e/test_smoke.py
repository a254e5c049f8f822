"""All five services started as processes through the launcher `make start` uses."""

import pytest
import requests
from nameko.standalone.rpc import ClusterRpcProxy

from shared.platform.config import SERVICES
from tests.support.platform import running_platform

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    with running_platform(tmp_path_factory.mktemp("platform")) as running:
        yield running


def test_every_service_answers_health_over_rpc(platform):
    with ClusterRpcProxy(platform.rpc_config(), timeout=15) as rpc:
        for service in SERVICES:
            health = getattr(rpc, service).health()
            assert health["service"] == service
            assert health["status"] == "ok" and health["db"] == "ok"
            assert health["version"]


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_serves_probes_and_metrics_over_http(platform, service):
    live = requests.get(f"{platform.base_url(service)}/livez", timeout=5)
    assert live.status_code == 200 and live.json()["status"] == "ok"
    for path in ("/readyz", "/health"):  # /health: readyz's old name, kept for existing checks
        ready = requests.get(f"{platform.base_url(service)}{path}", timeout=5)
        assert ready.status_code == 200, ready.text
        assert ready.json() | {"version": None} == {
            "service": service,
            "status": "ok",
            "db": "ok",
            "broker": "ok",
            "version": None,
        }
    requests.get(f"{platform.base_url(service)}/metrics", timeout=5)
    metrics = requests.get(f"{platform.base_url(service)}/metrics", timeout=5)
    assert metrics.status_code == 200
    assert metrics.headers["Content-Type"].startswith("text/plain")
    assert (
        f'newcitizen_entrypoint_requests_total{{entrypoint="http_metrics",outcome="success",service="{service}"}}'
        in metrics.text
    )


def test_http_errors_do_not_echo_exception_text(platform):
    response = requests.get(f"{platform.base_url('housing')}/health", params={"x": "y"}, timeout=5)
    assert response.status_code == 200
    missing = requests.get(f"{platform.base_url('housing')}/no-such-page", timeout=5)
    assert missing.status_code == 404 and "Traceback" not in missing.text


def test_a_killed_service_restarts_alone(platform):
    assert platform.kill("stats", 9)
    platform.restart("stats")
    with ClusterRpcProxy(platform.rpc_config(), timeout=15) as rpc:
        assert rpc.stats.health()["status"] == "ok"
        assert rpc.housing.health()["status"] == "ok"
