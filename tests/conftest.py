"""Fixtures for every layer. Real parts only: a RabbitMQ vhost per test (nameko's `rabbit_config`),
SQLite files, and a throw-away PostgreSQL database per test where the local server answers."""

import os
import sys

import eventlet


def _xdist_controller(argv: list[str]) -> bool:
    """The process that hands tests to pytest-xdist's workers runs none itself, and its execnet channels
    need real threads: green ones deadlock it at "bringing up nodes"."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return False
    for index, arg in enumerate(argv):
        if arg in ("-n", "--numprocesses"):
            value = argv[index + 1] if index + 1 < len(argv) else "0"
        elif arg.startswith("--numprocesses="):
            value = arg.split("=", 1)[1]
        elif arg.startswith("-n") and len(arg) > 2:
            value = arg[2:]
        else:
            continue
        return value not in ("0", "")
    return False


if not _xdist_controller(sys.argv):
    eventlet.monkey_patch()  # noqa: E402  (before anything imports socket or threading)

import time  # noqa: E402
import uuid  # noqa: E402
from urllib.parse import urlparse  # noqa: E402

import pytest  # noqa: E402
from nameko.testing.utils import find_free_port  # noqa: E402

from tests.support.tokens import ISSUER, PUBLIC_KEYS  # noqa: E402

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def postgres_reachable() -> bool:
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


_PG = postgres_reachable()


def pytest_configure(config):
    config.pluginmanager.import_plugin("tests.support.redelivery_plugin")  # fails a run leaving a poison behind


def pytest_addoption(parser):
    parser.addoption("--reverse", action="store_true", help="run the collected tests in reverse order")


# Tests whose behaviour depends on the time of day or the date (quiet hours, daily caps, appeal windows, periods,
# ages, holds, reminders, sweeps): `make test-clock` runs them with the platform's clock at set instants.
# The end-to-end flows are here; the e2e checks of other things (broker identities, traces, the demo's
# history, whose dates are its own) are not, so the three instants of test-clock stay within CI's budget.
CLOCK_SENSITIVE = (
    "tests/e2e/test_core_flow.py",
    "tests/e2e/test_events_season.py",
    "tests/e2e/test_insurance_events_flow.py",
    "tests/e2e/test_smoke.py",
    "tests/ops/test_cli.py",
    "tests/shared/test_audit.py",
    "tests/shared/test_personal_data.py",
    "tests/shared/test_retention.py",
    "tests/services/events/test_activities.py",
    "tests/services/events/test_attendance.py",
    "tests/services/events/test_registration.py",
    "tests/services/events/test_rules.py",
    "tests/services/events/test_validation.py",
    "tests/services/housing/",
    "tests/services/insurance/",
    "tests/services/notify/test_approval_sms.py",
    "tests/services/notify/test_broadcast.py",
    "tests/services/notify/test_delivery.py",
    "tests/services/notify/test_insurance_events_notices.py",
    "tests/services/notify/test_out_id.py",
    "tests/services/notify/test_retention.py",
    "tests/services/notify/test_rules.py",
)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.nodeid.startswith(CLOCK_SENSITIVE):
            item.add_marker(pytest.mark.clock)
    if config.getoption("--reverse"):  # an order-independence check beside pytest-randomly's shuffles
        items.reverse()


@pytest.fixture
def process_clock():
    """Start the process clock (`shared.platform.clock.utcnow`) at a given instant for one test, then put it back."""
    from shared.platform.clock import process_clock

    clock = process_clock()
    saved = (clock.offset, clock.started)
    yield clock.start_at
    clock.offset, clock.started = saved


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def postgres_url():
    """A fresh database, dropped afterwards. Without a reachable server the test is skipped, visibly."""
    if not _PG:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}")
    from sqlalchemy import create_engine, text

    name = f"nc_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    parts = urlparse(POSTGRES_ADMIN_URL)
    yield f"{parts.scheme}://{parts.netloc}/{name}"
    from sqlalchemy.exc import DBAPIError

    for attempt in range(5):  # a pool a killed container left behind may still be closing a connection
        try:
            with admin.connect() as connection:
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        f" WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                    )
                )
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            break
        except DBAPIError:
            if attempt == 4:
                raise
            time.sleep(0.5)
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request):
    """Runs the test once on SQLite (the embedded default) and once on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def revocation_list(tmp_path):
    """The revocation list the test's services read (empty until a test revokes a token)."""
    return tmp_path / "revoked-tokens"


@pytest.fixture
def service_config(rabbit_config, revocation_list):
    """Build a service config as config.yaml would, pointed at this test's vhost and database."""

    def build(database_url: str, **overrides) -> dict:
        config = {
            "AMQP_URI": rabbit_config["AMQP_URI"],
            "WEB_SERVER_ADDRESS": f"127.0.0.1:{find_free_port()}",
            "DATABASE_URL": database_url,
            "ENV": "test",
            "JWT_PUBLIC_KEYS": PUBLIC_KEYS,  # no private key: a service only verifies
            "JWT_REVOCATION_LIST": str(revocation_list),
            "PII_HMAC_KEY": "test-hmac-key",
            "PII_ENCRYPTION_KEY": "test-encryption-key",
            "EVENT_RETRY_DELAYS_MS": [100, 200],
            "OUTBOX_SWEEP_SECONDS": 0.5,
            "OUTBOX_SWEEP_GRACE_SECONDS": 0.2,
            "METRICS_REFRESH_SECONDS": 0.5,
            "max_workers": 10,
        }
        if os.environ.get("CLOCK_START"):  # `make test-clock`: every container starts on the platform's clock
            config["CLOCK_START"] = os.environ["CLOCK_START"]
        config.update(overrides)
        return config

    return build


@pytest.fixture
def token_for():
    """A token from the suite's issuer (`issuer=` another one, e.g. a forger's)."""

    def issue(sub: str, *roles: str, issuer=None, **kwargs) -> str:
        return (issuer or ISSUER).issue(sub, roles, **kwargs)

    return issue
