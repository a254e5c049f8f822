"""`nameko run services.<name>.service` must run that service alone: the shared base every service module
imports is not itself a service (it was, and answered half the /health requests with 503)."""

import pytest
import requests
from nameko.cli.run import import_service
from nameko.testing.services import entrypoint_hook
from nameko.testing.utils import find_free_port

from shared.platform.config import SERVICES
from tests.support.databases import migrate


@pytest.mark.parametrize("service", SERVICES)
def test_the_service_module_holds_one_service(service):
    [found] = import_service(f"services.{service}.service")
    assert found.name == service
    assert {"health", "http_health", "http_metrics"} <= set(dir(found))


def test_health_and_metrics_answer_for_the_service(container_factory, service_config, sqlite_url):
    from services.stats.service import StatsService

    migrate("stats", sqlite_url)
    address = f"127.0.0.1:{find_free_port()}"
    container = container_factory(StatsService, service_config(sqlite_url, WEB_SERVER_ADDRESS=address))
    container.start()
    with entrypoint_hook(container, "health") as health:
        assert health()["service"] == "stats" and health()["db"] == "ok"
    for _ in range(5):
        response = requests.get(f"http://{address}/health", timeout=5)
        assert response.status_code == 200 and response.json()["service"] == "stats"
    assert "newcitizen_entrypoint_requests_total" in requests.get(f"http://{address}/metrics", timeout=5).text
