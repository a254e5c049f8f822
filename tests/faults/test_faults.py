"""The promise under faults: every approval yields exactly one SMS record with a final status and one
stats count, whatever fails in between. All services run as processes; a driver approves a stream of
applications while a fault strikes mid-stream.

`make test` runs a short stream per fault; `make test-faults` runs the long form (FAULT_APPROVALS=1000).
The table of figures is printed at the end of the module and written to var/faults.json.
"""

import json
import os
import subprocess
import time

import eventlet
import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.config import REPO_ROOT
from shared.db import make_engine
from shared.models import OutboxMessage
from tests.support.broker import drain_dead_letters
from tests.support.platform import running_platform
from tests.support.residents import application

pytestmark = pytest.mark.e2e

APPROVALS = int(os.environ.get("FAULT_APPROVALS", "40"))
FINAL = {"delivered", "permanent-failure", "technical-failure"}
RESULTS: list[dict] = []


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    env = {"OUTBOX_SWEEP_SECONDS": "1", "OUTBOX_SWEEP_GRACE_SECONDS": "1"}
    with running_platform(tmp_path_factory.mktemp("faults"), extra_env=env) as running:
        yield running
    _print_table()


def proxy(platform, sub, role):
    return ClusterRpcProxy(platform.rpc_config(), context_data={"authorization": platform.token(sub, role)}, timeout=15)


def approve_stream(platform, forms, fault, at: int) -> float:
    """Submit and approve each form in turn, retrying through the fault as a careful client would; strike
    `fault` after `at` approvals. Returns when the fault's service is back."""
    recovered_at = {}

    def call_until_done(method, *args):
        for _ in range(60):
            try:
                role = "caseworker" if method == "submit" else "reviewer"
                with proxy(platform, f"fault-{role}", role) as rpc:
                    if method == "submit":
                        return rpc.housing.submit_subsidy_application(*args)
                    return rpc.housing.review_subsidy_application(*args)
            except RemoteError as error:
                if error.exc_type in ("InvalidTransition", "DuplicateApplication"):
                    return None  # an earlier attempt got through before the reply was lost
                eventlet.sleep(0.5)
            except Exception:  # the service or the broker is down: try again shortly
                eventlet.sleep(0.5)
        raise AssertionError(f"{method} never got through")

    for index, form in enumerate(forms):
        if index == at:
            recovered_at["t"] = fault(platform)
        submitted = call_until_done("submit", form)
        if submitted is None:  # the submission landed but its reply was lost: find it by phone
            with proxy(platform, "fault-driver", "caseworker") as rpc:
                submitted = {
                    "application_id": rpc.housing.find_subsidy_applications(phone=form["phone"])["items"][0][
                        "application_id"
                    ]
                }
        call_until_done("review", submitted["application_id"], "approve")
    return recovered_at.get("t", time.monotonic())


def kill_and_restart(service):
    def fault(platform):
        platform.kill(service, 9)
        eventlet.sleep(1)
        platform.restart(service)
        return time.monotonic()

    fault.__name__ = f"kill -9 {service}"
    return fault


def close_all_connections(platform):
    subprocess.run(["rabbitmqctl", "close_all_connections", "fault-suite"], check=True, capture_output=True)
    return time.monotonic()


def outbox_backlog(platform) -> int:
    engine = make_engine(platform.env["HOUSING_DATABASE_URL"])
    with Session(engine) as session:
        backlog = session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.published_at.is_(None))
        )
    engine.dispose()
    return backlog


def sms_counts(platform, forms) -> list[int]:
    with proxy(platform, "fault-checker", "admin") as rpc:
        return [
            len([n for n in rpc.notify.list_notifications(phone=form["phone"]) if n["status"] in FINAL])
            for form in forms
        ]


def approvals_counted(platform) -> int:
    with proxy(platform, "fault-checker", "admin") as rpc:
        return rpc.stats.summary()["counters"].get("housing.subsidy_approved", 0)


FAULTS = [kill_and_restart("housing"), kill_and_restart("notify"), kill_and_restart("stats"), close_all_connections]


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.__name__ for fault in FAULTS])
def test_exactly_one_sms_and_one_count_per_approval_through_the_fault(platform, fault):
    before = _eventually(lambda: approvals_counted(platform))
    forms = [application() for _ in range(APPROVALS)]
    recovered = approve_stream(platform, forms, fault, at=APPROVALS // 3)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        counts, counted = sms_counts(platform, forms), approvals_counted(platform) - before
        if all(c >= 1 for c in counts) and counted >= APPROVALS and outbox_backlog(platform) == 0:
            break
        eventlet.sleep(1)
    recovery = time.monotonic() - recovered
    eventlet.sleep(2)  # anything still in flight would show up as a duplicate now
    counts, counted = sms_counts(platform, forms), approvals_counted(platform) - before
    lost = sum(1 for c in counts if c == 0) + max(0, APPROVALS - counted)
    duplicated = sum(c - 1 for c in counts if c > 1) + max(0, counted - APPROVALS)
    RESULTS.append(
        {
            "fault": fault.__name__,
            "approvals": APPROVALS,
            "lost": lost,
            "duplicated": duplicated,
            "recovery_seconds": round(recovery, 1),
        }
    )
    dead = {service: drain_dead_letters(platform.amqp_uri, service) for service in ("notify", "stats")}
    assert (lost, duplicated) == (0, 0), RESULTS[-1]
    assert outbox_backlog(platform) == 0
    assert dead == {"notify": [], "stats": []}


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
    lines = ["", f"{'fault':<28}{'approvals':>10}{'lost':>6}{'duplicated':>12}{'recovery s':>12}"]
    lines += [
        f"{r['fault']:<28}{r['approvals']:>10}{r['lost']:>6}{r['duplicated']:>12}{r['recovery_seconds']:>12}"
        for r in RESULTS
    ]
    print("\n".join(lines))
    out = REPO_ROOT / "var" / "faults.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(RESULTS, indent=2))
