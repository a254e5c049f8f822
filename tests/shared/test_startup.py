"""A service checks its configuration when it starts: a production start refuses SQLite, and a missing or
impossible setting stops it with a sentence naming the setting."""

import pytest

from shared.startup import ConfigurationError, problems
from tests.shared.test_probes import ProbedService

PRODUCTION = {
    "ENV": "production",
    "JWT_SECRET": "a-production-secret-0123456789-0123456789",
    "PII_HMAC_KEY": "production-hmac-key-0123456789",
    "PII_ENCRYPTION_KEY": "production-encryption-key-0123456789",
}


def test_a_production_start_refuses_sqlite(container_factory, service_config, sqlite_url):
    container = container_factory(ProbedService, service_config(sqlite_url, **PRODUCTION))
    with pytest.raises(ConfigurationError, match="DATABASE_URL is SQLite"):
        container.start()


def test_a_production_start_on_postgresql_runs(container_factory, service_config, postgres_url):
    container = container_factory(ProbedService, service_config(postgres_url, **PRODUCTION))
    container.start()
    assert container.started


def test_sqlite_is_fine_outside_production(container_factory, service_config, sqlite_url):
    container = container_factory(ProbedService, service_config(sqlite_url))
    container.start()
    assert container.started


def test_each_problem_is_named():
    found = problems({"AMQP_URI": "", "DATABASE_URL": "x", "EVENT_QUEUE_TYPE": "lazy", "max_workers": 0})
    assert found == [
        "AMQP_URI is not set",
        "WEB_SERVER_ADDRESS is not set",
        "EVENT_QUEUE_TYPE must be one of classic, quorum",
        "max_workers must be a whole number of at least 1",
    ]
