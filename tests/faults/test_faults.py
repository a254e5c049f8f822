"""The promise under faults: every approval yields exactly one SMS record, delivered, exactly one SMS
sent by the gateway to the resident's number, and one stats count, whatever fails in between. All
services run as processes; notify sends through the fake SMS gateway (signed receipts and all); a driver
approves a stream of applications while a fault strikes mid-stream, beside the stream rather than between
two calls of it.

Faults that hit shared infrastructure never touch the machine's own servers: the platform runs on a
private RabbitMQ node and stats on a private PostgreSQL cluster, both started here and removed afterwards.
Where either cannot be started, the faults that need it are skipped with the reason.

Marker `faults`: only `make test-faults` runs it, the long form by default (FAULT_APPROVALS=1000); `.ci/run`
runs it with 40 approvals per fault, after `make test`.
The table of figures is printed at the end of the module and written to var/faults.json.
"""

import contextlib
import json
import os
import subprocess
import time
from collections import Counter
from contextlib import ExitStack

import eventlet
import pytest
import requests
from kombu import Connection, Queue
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.utils import find_free_port
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.platform.config import REPO_ROOT, SERVICES
from shared.platform.db import make_engine
from shared.platform.models import OutboxMessage
from shared.platform.personal_data import find_personal_data
from shared.platform.topology import event_exchange
from tests.support.broker import drain_dead_letters
from tests.support.gateway import start_fake_gateway
from tests.support.platform import running_platform
from tests.support.private_postgres import PrivatePostgresUnavailable, private_postgres
from tests.support.private_rabbit import PrivateRabbitUnavailable, private_rabbit
from tests.support.residents import distinct_applications
from tests.support.waiting import ConditionNotMet, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

APPROVALS = int(os.environ.get("FAULT_APPROVALS", "40"))
OUTAGE_SECONDS = 5
GATEWAY_KEY = "fault-suite-gateway-key"
NOTIFY_RETRY_DELAYS = [1, 2, 4, 8, 16]  # seconds: covers an outage of OUTAGE_SECONDS with room to spare
EVENT_CAPTURE_QUEUE = "fault-suite.every-event"
RETRY_PREFIXES = tuple(f"{service}.retry." for service in SERVICES)
RESULTS: list[dict] = []
USED_ID_NUMBERS: set[str] = set()


class Infrastructure:
    """What the platform runs on: private servers where they could be started, else why not."""

    def __init__(self):
        self.rabbit = self.postgres = None
        self.why_no_rabbit = self.why_no_postgres = ""


@pytest.fixture(scope="module")
def infrastructure(tmp_path_factory):
    found = Infrastructure()
    with ExitStack() as stack:
        try:
            found.rabbit = stack.enter_context(private_rabbit(tmp_path_factory.mktemp("rabbit")))
        except PrivateRabbitUnavailable as exc:
            found.why_no_rabbit = f"no private RabbitMQ node ({exc}); the shared broker is never faulted"
        try:
            found.postgres = stack.enter_context(private_postgres())
        except PrivatePostgresUnavailable as exc:
            found.why_no_postgres = f"no private PostgreSQL cluster ({exc}); the shared server is never stopped"
        yield found


@pytest.fixture(scope="module")
def platform(infrastructure, tmp_path_factory):
    gateway_port = find_free_port()
    env = {
        "OUTBOX_SWEEP_SECONDS": "1",
        "OUTBOX_SWEEP_GRACE_SECONDS": "1",
        "NOTIFY_SMS_PROVIDER": "gateway",
        "NOTIFY_SMS_GATEWAY_URL": f"http://127.0.0.1:{gateway_port}",
        "NOTIFY_SMS_GATEWAY_KEY": GATEWAY_KEY,
        "NOTIFY_SMS_GATEWAY_TIMEOUT_SECONDS": "2",
        "NOTIFY_RETRY_DELAYS_SECONDS": json.dumps(NOTIFY_RETRY_DELAYS),
        # a killed notify's claimed messages go again when their lease runs out (60 s in production)
        "NOTIFY_DISPATCH_LEASE_SECONDS": "10",
    }
    databases = {}
    if infrastructure.postgres is not None:
        databases["stats"] = infrastructure.postgres.create_database("stats")
    run_dir = tmp_path_factory.mktemp("faults")
    (run_dir / "crash").mkdir()
    env["NEWCITIZEN_CRASH_DIR"] = str(run_dir / "crash")
    with running_platform(run_dir, database_urls=databases, extra_env=env, broker=infrastructure.rabbit) as running:
        capture_events(running.amqp_uri)
        with fake_gateway(running, gateway_port):
            yield running
    _print_table()


class fake_gateway:  # noqa: N801 (used as a context manager, like open)
    def __init__(self, platform, port: int):
        self.port, self.callback = port, platform.base_url("notify")
        self.log = open(platform.run_dir / "log" / "fake_gateway.log", "ab")  # noqa: SIM115 (closed in __exit__)
        platform.gateway = self

    def __enter__(self):
        self.process, self.url = start_fake_gateway(
            self.port, self.callback, stdout=self.log, stderr=subprocess.STDOUT, api_key=GATEWAY_KEY
        )
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()

    def outage(self, mode: str, seconds: float) -> None:
        requests.post(f"{self.url}/test/fault", json={"mode": mode, "seconds": seconds}, timeout=5)

    def stats(self) -> dict:
        return requests.get(f"{self.url}/test/stats", timeout=5).json()

    def sent_to(self) -> Counter:
        """How many SMS the gateway actually sent to each number: what a resident's phone would show."""
        messages = requests.get(f"{self.url}/test/messages", timeout=30).json()
        return Counter(message["mobile"] for message in messages if "mobile" in message)


def capture_events(amqp_uri: str) -> None:
    """A queue bound to every service's events exchange: the privacy check reads every event body."""
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        queue = Queue(EVENT_CAPTURE_QUEUE, durable=True)(channel)
        queue.declare()
        for source in SERVICES:
            event_exchange(source)(channel).declare()
            queue.bind_to(exchange=f"{source}.events", routing_key="#")


def proxy(platform, sub, role):
    return ClusterRpcProxy(platform.rpc_config(), context_data={"authorization": platform.token(sub, role)}, timeout=15)


def approve_stream(platform, forms, fault, at: int) -> float:
    """Submit and approve each form in turn, retrying through the fault as a careful client would. The
    fault starts after `at` approvals and runs beside the stream. Returns the recovery time: from the end
    of the fault until every approval made by then is counted and its SMS delivered (as stats sees it)."""
    striking = None
    approved = [0]
    baseline = _eventually(lambda: counters(platform))  # the previous stream has settled

    def strike():
        ended = fault(platform)
        target = approved[0]
        while time.monotonic() - ended < 300:
            try:
                now = counters(platform)
                if all(now[key] - baseline[key] >= target for key in now):
                    break
            except Exception:  # a service still coming back
                pass
            eventlet.sleep(0.2)
        return time.monotonic() - ended

    clients: dict = {}  # one connection per role, replaced when a fault breaks it

    def client(role):
        if role not in clients:
            clients[role] = proxy(platform, f"fault-{role}", role).start()
        return clients[role]

    def drop(role):
        broken = clients.pop(role, None)
        if broken is not None:
            with contextlib.suppress(Exception):
                broken.stop()

    def call_until_done(method, *args):
        role = "caseworker" if method != "review" else "reviewer"
        for _ in range(120):
            try:
                housing = client(role).housing
                if method == "submit":
                    return housing.submit_subsidy_application(*args)
                if method == "find":
                    return housing.find_subsidy_applications(phone=args[0])["items"][0]["application_id"]
                return housing.review_subsidy_application(*args)
            except RemoteError as error:
                if error.exc_type in ("InvalidTransition", "DuplicateApplication"):
                    return None  # an earlier attempt got through before the reply was lost
                eventlet.sleep(0.5)
            except Exception:  # the service or the broker is down: try again shortly, on a new connection
                drop(role)
                eventlet.sleep(0.5)
        raise AssertionError(f"{method} never got through")

    for index, form in enumerate(forms):
        if index == at:
            striking = eventlet.spawn(strike)
            eventlet.sleep(0)  # let it strike before the next call
        submitted = call_until_done("submit", form)
        # None: the submission landed but its reply was lost; find it by phone
        application_id = submitted["application_id"] if submitted else call_until_done("find", form["phone"])
        call_until_done("review", application_id, "approve")
        approved[0] += 1
    for role in list(clients):
        drop(role)
    return striking.wait() if striking is not None else 0.0


# --- the faults: each returns the moment it is over ------------------------------------------------------


def crash_and_restart(point: str, where: str):
    """SIGKILL the service at a named crash point (shared/platform/crashpoints.py) the next time it passes it."""
    service = point.split(".", 1)[0]

    def fault(platform):
        marker = platform.run_dir / "crash" / point
        marker.touch()
        deadline = time.monotonic() + 60
        while marker.exists() and time.monotonic() < deadline:
            eventlet.sleep(0.05)
        assert not marker.exists(), f"{service} never passed {point}"
        platform.restart(service)  # waits for the killed process to be gone, then replaces its pid file
        return time.monotonic()

    fault.__name__ = f"kill -9 {service} {where}"
    return fault


def close_all_connections(platform):
    platform.rabbit.close_all_connections()
    return time.monotonic()


close_all_connections.__name__ = "rabbitmqctl close_all_connections"
close_all_connections.needs = "rabbit"


def restart_broker(platform):
    platform.rabbit.restart_app(down_seconds=OUTAGE_SECONDS)
    return time.monotonic()


restart_broker.__name__ = f"rabbitmqctl stop_app, {OUTAGE_SECONDS}s, start_app"
restart_broker.needs = "rabbit"


def gateway_outage(mode: str):
    def fault(platform):
        platform.gateway.outage(mode, OUTAGE_SECONDS)
        eventlet.sleep(OUTAGE_SECONDS)
        return time.monotonic()

    fault.__name__ = {
        "fail": "SMS gateway fails",
        "hang": "SMS gateway hangs",
        "lose": "SMS gateway loses its answers",
    }[mode] + f" {OUTAGE_SECONDS}s"
    return fault


def stop_stats_database(platform):
    platform.postgres.stop()
    eventlet.sleep(OUTAGE_SECONDS)
    platform.postgres.start()
    return time.monotonic()


stop_stats_database.__name__ = f"stats' PostgreSQL stopped {OUTAGE_SECONDS}s"
stop_stats_database.needs = "postgres"


FAULTS = [
    crash_and_restart("housing.outbox.before_publish", "between commit and publish"),
    crash_and_restart("notify.delivery.before_send", "between recording and sending"),
    crash_and_restart("stats.consumer.before_commit", "mid-fold"),
    crash_and_restart("stats.consumer.after_commit", "between commit and ack"),
    close_all_connections,
    restart_broker,
    gateway_outage("fail"),
    gateway_outage("hang"),
    gateway_outage("lose"),
    stop_stats_database,
]


# --- what the checks read ----------------------------------------------------------------------------


def outbox_backlog(platform) -> int:
    engine = make_engine(platform.env["HOUSING_DATABASE_URL"])
    with Session(engine) as session:
        backlog = session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.published_at.is_(None))
        )
    engine.dispose()
    return backlog


def sms_records(platform, forms) -> list[list[dict]]:
    with proxy(platform, "fault-checker", "admin") as rpc:
        return [rpc.notify.list_notifications(phone=form["phone"]) for form in forms]


def approvals_counted(platform) -> int:
    return counters(platform)["housing.subsidy_approved"]


def counters(platform) -> dict:
    """What stats has counted of the two things the promise is about: approvals and delivered messages."""
    with proxy(platform, "fault-checker", "admin") as rpc:
        counted = rpc.stats.summary()["counters"]
    return {key: counted.get(key, 0) for key in ("housing.subsidy_approved", "notify.notification_delivered")}


def in_flight(platform) -> dict:
    """Messages ready or unacknowledged in the queues the consumers work from (ready + unacked, by name)."""
    vhost = platform.amqp_uri.rsplit("/", 1)[1]
    args = ("list_queues", "-p", vhost, "name", "messages", "--quiet", "--no-table-headers")
    if platform.rabbit is not None:
        listing = platform.rabbit.ctl(*args)
    else:
        listing = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, check=True).stdout
    rows = (line.split() for line in listing.splitlines() if line.strip())
    # the consumers' work and retry queues; reply queues of clients the faults cut off keep their answers
    return {name: int(count) for name, count in rows if int(count) and name.startswith(("evt-", *RETRY_PREFIXES))}


def settled(platform, forms, before: int) -> bool:
    try:
        if approvals_counted(platform) - before < len(forms) or outbox_backlog(platform):
            return False
        return all(any(n["status"] == "delivered" for n in records) for records in sms_records(platform, forms))
    except Exception:  # a service still coming back
        return False


def fresh_applications(count: int) -> list[dict]:
    """Residents not seen before in this run: a repeated ID number is (rightly) a DuplicateApplication."""
    return distinct_applications(count, USED_ID_NUMBERS)


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.__name__ for fault in FAULTS])
def test_exactly_one_delivered_sms_and_one_count_per_approval_through_the_fault(platform, infrastructure, fault):
    needs = getattr(fault, "needs", None)
    if needs == "rabbit" and infrastructure.rabbit is None:
        pytest.skip(infrastructure.why_no_rabbit)
    if needs == "postgres" and infrastructure.postgres is None:
        pytest.skip(infrastructure.why_no_postgres)
    platform.rabbit, platform.postgres = infrastructure.rabbit, infrastructure.postgres
    before = _eventually(lambda: approvals_counted(platform))
    forms = fresh_applications(APPROVALS)
    recovery = approve_stream(platform, forms, fault, at=APPROVALS // 3)
    wait_for(lambda: settled(platform, forms, before), timeout=180, interval=1, what="every approval settled")
    # a redelivered copy would still be queued or in a consumer's hands: wait until nothing is
    try:
        wait_for(lambda: in_flight(platform) == {}, timeout=60, interval=0.5)
    except ConditionNotMet:
        raise AssertionError(f"still in flight after 60 s: {in_flight(platform)}") from None
    records, counted = sms_records(platform, forms), approvals_counted(platform) - before
    sent = platform.gateway.sent_to()
    delivered = [sum(1 for n in found if n["status"] == "delivered") for found in records]
    lost = sum(1 for d in delivered if d == 0) + max(0, APPROVALS - counted)
    lost += sum(1 for form in forms if sent[form["phone"]] == 0)
    duplicated = sum(len(found) - 1 for found in records if len(found) > 1) + max(0, counted - APPROVALS)
    duplicated += sum(sent[form["phone"]] - 1 for form in forms if sent[form["phone"]] > 1)  # at the phone
    attempts = max((n["attempts"] for found in records for n in found), default=0)
    RESULTS.append(
        {
            "fault": fault.__name__,
            "approvals": APPROVALS,
            "lost": lost,
            "duplicated": duplicated,
            "recovery_seconds": round(recovery, 1),
            "max_sms_attempts": attempts,
        }
    )
    dead = {service: drain_dead_letters(platform.amqp_uri, service) for service in ("notify", "stats")}
    assert (lost, duplicated) == (0, 0), RESULTS[-1]
    assert attempts <= len(NOTIFY_RETRY_DELAYS) + 1, "retries are bounded by the configured delays"
    assert outbox_backlog(platform) == 0
    assert dead == {"notify": [], "stats": []}


def test_no_id_or_phone_number_in_any_log_or_event_of_the_whole_suite(platform):
    """Every log line of every service and of the gateway, and every event body any service published while
    this module ran, searched for ID numbers and mobile numbers in the clear. Run last it sees every fault;
    in any order it first drives a stream of its own, so there is always something to search."""
    forms = fresh_applications(5)
    before = _eventually(lambda: approvals_counted(platform))
    approve_stream(platform, forms, fault=None, at=len(forms))  # `at` past the end: no fault strikes
    wait_for(lambda: settled(platform, forms, before), timeout=180, interval=1, what="the stream settled")
    found_in_logs = find_personal_data(platform.logs())
    bodies = []
    with Connection(platform.amqp_uri) as connection:
        queue = Queue(EVENT_CAPTURE_QUEUE, durable=True)(connection.channel())
        while (message := queue.get(no_ack=True)) is not None:
            bodies.append(message.body.decode() if isinstance(message.body, bytes) else message.body)
    assert bodies, "the capture queue saw the suite's events"
    found_in_events = find_personal_data("\n".join(bodies))
    assert found_in_logs == [], f"{len(found_in_logs)} ID or phone numbers in the clear in the logs"
    assert found_in_events == [], f"{len(found_in_events)} ID or phone numbers in the clear in event bodies"


def _eventually(call, attempts: int = 30):
    for _ in range(attempts):
        try:
            return call()
        except Exception:
            eventlet.sleep(1)
    return call()


def _print_table():
    if not RESULTS:
        return
    header = f"{'fault':<44}{'approvals':>10}{'lost':>6}{'duplicated':>12}{'recovery s':>12}{'max attempts':>14}"
    lines = ["", header]
    lines += [
        f"{r['fault']:<44}{r['approvals']:>10}{r['lost']:>6}{r['duplicated']:>12}{r['recovery_seconds']:>12}"
        f"{r['max_sms_attempts']:>14}"
        for r in RESULTS
    ]
    print("\n".join(lines))
    out = REPO_ROOT / "var" / "faults.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(RESULTS, indent=2))
