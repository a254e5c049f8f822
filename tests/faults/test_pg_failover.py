"""PostgreSQL failover under load: every service's database on a primary with a synchronous streaming
standby (`ops.pg_cluster`, private servers on free loopback ports), the services given both through one
multi-host URL with `target_session_attrs=read-write`. While approvals stream, the primary is stopped as
in a crash (`pg_ctl stop -m immediate`) and the standby promoted (`pg_ctl promote`). Afterwards: every
approval a client was told about is in housing, exactly once; exactly one SMS record, delivered, and one
SMS at the gateway per approval; stats counted each once; and the services came back by themselves.

The stream, the careful client, the fake SMS gateway and the checks are the fault suite's
(tests/faults/test_faults.py); only the fault and the database under the platform differ. The broker is
the machine's (a vhost of the test's own): it is not what fails here. Marked `pg_failover`, which every
target but `make test-pg-failover` leaves out (`.ci/run` runs that one, 300 approvals, printing the figures
for docs/reliability.md); by hand, FAILOVER_APPROVALS (40 by default) sets the stream's length.
"""

import json
import os
import time

import eventlet
import pytest
import requests
from nameko.testing.utils import find_free_port
from sqlalchemy import text

from shared.platform.config import REPO_ROOT, SERVICES
from shared.platform.db import make_engine
from tests.faults.test_faults import (
    GATEWAY_KEY,
    NOTIFY_RETRY_DELAYS,
    approvals_counted,
    approve_stream,
    fake_gateway,
    fresh_applications,
    in_flight,
    outbox_backlog,
    proxy,
    settled,
    sms_records,
)
from tests.support.broker import drain_dead_letters
from tests.support.platform import running_platform
from tests.support.private_postgres import PrivatePostgresUnavailable, create_database, private_pg_pair
from tests.support.waiting import ConditionNotMet, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.pg_failover]

APPROVALS = int(os.environ.get("FAILOVER_APPROVALS", "40"))
WATCHED = ("housing", "notify", "stats")  # whose readiness (database and broker) is timed after the promotion


def _started_pair():
    try:
        with private_pg_pair() as started:
            yield started
    except PrivatePostgresUnavailable as exc:
        pytest.skip(f"no private PostgreSQL primary and standby ({exc}); the shared server is never faulted")


pair = pytest.fixture(scope="module", name="pair")(_started_pair)
own_pair = pytest.fixture(name="own_pair")(_started_pair)


@pytest.fixture(scope="module")
def platform(pair, tmp_path_factory):
    gateway_port = find_free_port()
    env = {
        "OUTBOX_SWEEP_SECONDS": "1",
        "OUTBOX_SWEEP_GRACE_SECONDS": "1",
        "NOTIFY_SMS_PROVIDER": "gateway",
        "NOTIFY_SMS_GATEWAY_URL": f"http://127.0.0.1:{gateway_port}",
        "NOTIFY_SMS_GATEWAY_KEY": GATEWAY_KEY,
        "NOTIFY_SMS_GATEWAY_TIMEOUT_SECONDS": "2",
        "NOTIFY_RETRY_DELAYS_SECONDS": json.dumps(NOTIFY_RETRY_DELAYS),
        "NOTIFY_DISPATCH_LEASE_SECONDS": "10",
    }
    databases = {}
    for service in SERVICES:
        create_database(pair.primary.url(), service)
        databases[service] = pair.multi_host_url(service)
    run_dir = tmp_path_factory.mktemp("pg-failover")
    with running_platform(run_dir, database_urls=databases, extra_env=env) as running:
        running.rabbit = running.postgres = None  # the machine's broker: in_flight lists it with rabbitmqctl
        with fake_gateway(running, gateway_port):
            yield running


def test_the_services_are_given_both_servers_and_the_primary_commits_synchronously(pair, platform):
    """What the failover rests on, checked where it is configured: the URL the services run with, and the
    primary's view of its standby."""
    url = platform.env["HOUSING_DATABASE_URL"]
    assert f"127.0.0.1:{pair.primary.port},127.0.0.1:{pair.standby.port}/" in url
    assert "target_session_attrs=read-write" in url
    if pair.primary.running:  # in another order the failover may have happened already
        assert pair.primary.sql("SHOW synchronous_commit") == "on"
        assert pair.wait_streaming() == "sync"


def test_a_commit_is_acknowledged_only_once_the_standby_has_flushed_it(own_pair):
    """The claim that makes "nothing committed is lost" hold through a promotion: with the standby away, a
    commit waits (`SyncRep`) instead of being acknowledged; it returns once the standby is back, and the
    standby has the row. A pair of its own: this test stops the standby. (The commit waits in a greenlet:
    psycopg's wait is green, shared.platform.db, or this test would hang.)"""
    engine = make_engine(own_pair.multi_host_url("postgres"))
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE acknowledged (id int PRIMARY KEY)"))
    own_pair.standby.stop()

    def commit():
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO acknowledged VALUES (1)"))
        return "acknowledged"

    committing = eventlet.spawn(commit)
    wait_for(
        lambda: own_pair.primary.sql("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'") == "1",
        timeout=30,
        what="the commit waiting for the standby",
    )
    assert not committing.dead, "acknowledged while the standby was away"
    own_pair.standby.start()
    assert committing.wait() == "acknowledged"
    assert own_pair.standby.sql("SELECT count(*) FROM acknowledged") == "1"
    engine.dispose()


def test_nothing_committed_is_lost_or_duplicated_through_a_failover_and_the_services_resume(pair, platform):
    if not pair.primary.running:
        pytest.skip("the pair has failed over already (this module's failover runs once)")
    timings: dict = {}

    def fail_over(running):
        started = time.monotonic()
        pair.primary.stop("immediate")
        pair.standby.promote()
        promoted = time.monotonic()
        timings["outage"] = promoted - started
        wait_for(lambda: all(_ready(running, service) for service in WATCHED), timeout=120, interval=0.1)
        timings["ready"] = time.monotonic() - promoted
        return promoted

    fail_over.__name__ = "primary stopped (-m immediate), standby promoted"
    before = approvals_counted(platform)
    forms = fresh_applications(APPROVALS)
    recovery = approve_stream(platform, forms, fail_over, at=APPROVALS // 3)
    try:  # on a timeout the counts below say what is missing
        wait_for(lambda: settled(platform, forms, before), timeout=180, interval=1, what="every approval settled")
        wait_for(lambda: in_flight(platform) == {}, timeout=60, interval=0.5, what="nothing in flight")
    except ConditionNotMet as exc:
        unsettled = f"{exc}; in flight: {in_flight(platform)}"
    else:
        unsettled = None

    cases = housing_cases(platform, forms)
    records, counted = sms_records(platform, forms), approvals_counted(platform) - before
    sent = platform.gateway.sent_to()
    approved = [sum(1 for case in found if case["status"] == "approved") for found in cases]
    delivered = [sum(1 for n in found if n["status"] == "delivered") for found in records]
    lost = {
        "housing": sum(1 for n in approved if n == 0),
        "sms records": sum(1 for n in delivered if n == 0),
        "gateway": sum(1 for form in forms if sent[form["phone"]] == 0),
        "stats": max(0, APPROVALS - counted),
    }
    duplicated = {
        "housing": sum(len(found) - 1 for found in cases if len(found) > 1),
        "sms records": sum(len(found) - 1 for found in records if len(found) > 1),
        "gateway": sum(sent[form["phone"]] - 1 for form in forms if sent[form["phone"]] > 1),
        "stats": max(0, counted - APPROVALS),
    }
    figures = {
        "fault": fail_over.__name__,
        "approvals": APPROVALS,
        "lost": sum(lost.values()),
        "duplicated": sum(duplicated.values()),
        "outage_seconds": round(timings["outage"], 1),
        "ready_seconds": round(timings["ready"], 1),
        "recovery_seconds": round(recovery, 1),
        "max_sms_attempts": max((n["attempts"] for found in records for n in found), default=0),
        "lost_by_place": lost,
        "duplicated_by_place": duplicated,
    }
    _report(figures)
    assert unsettled is None, (unsettled, figures)
    dead = {service: drain_dead_letters(platform.amqp_uri, service) for service in ("notify", "stats")}
    assert (lost, duplicated) == (dict.fromkeys(lost, 0), dict.fromkeys(duplicated, 0)), figures
    assert pair.status() == {f"127.0.0.1:{pair.primary.port}": "stopped", f"127.0.0.1:{pair.standby.port}": "primary"}
    assert outbox_backlog(platform) == 0
    assert dead == {"notify": [], "stats": []}


def housing_cases(platform, forms) -> list[list[dict]]:
    """Each resident's applications as housing holds them now, after the promotion."""
    with proxy(platform, "failover-checker", "caseworker") as rpc:
        return [rpc.housing.find_subsidy_applications(phone=form["phone"])["items"] for form in forms]


def _ready(platform, service: str) -> bool:
    try:
        return requests.get(f"{platform.base_url(service)}/readyz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _report(figures: dict) -> None:
    print(
        f"\n{figures['fault']}: {figures['approvals']} approvals, lost {figures['lost']},"
        f" duplicated {figures['duplicated']}, outage {figures['outage_seconds']} s, services ready"
        f" {figures['ready_seconds']} s after the promotion, recovery {figures['recovery_seconds']} s,"
        f" max SMS attempts {figures['max_sms_attempts']}"
    )
    out = REPO_ROOT / "var" / "pg_failover.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2))
