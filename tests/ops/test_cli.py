"""`newcitizen token`, `health`, `outbox status` against a real service container, and the RPC-driven
commands (`disburse`, `broadcast`, `report`) against stand-ins that check the caller's admin token the way
the real services do (shared.platform.auth) and answer in the shapes their issues specify."""

import json
from datetime import timedelta

import jwt
import pytest
from nameko.rpc import rpc
from sqlalchemy import insert

from ops.cli import parse_personalisation, parse_segment
from services.housing.service import HousingService
from shared.platform.auth import Auth, requires
from shared.platform.clock import utcnow
from shared.platform.db import make_engine
from shared.platform.migrations import upgrade
from shared.platform.models import OutboxMessage
from tests.ops.conftest import TOKEN_ENV
from tests.support.tokens import SUITE_KEY
from tests.support.waiting import wait_for


def test_token_decodes_with_the_configured_public_key(platform_env, cli):
    code, out, _ = cli("token", "--sub", "alice", "--roles", "reviewer,caseworker", "--ttl", "600")
    assert code == 0
    claims = jwt.decode(out.strip(), SUITE_KEY.public_key, algorithms=["EdDSA"], audience="newcitizen-platform")
    assert claims["sub"] == "alice"
    assert claims["roles"] == ["caseworker", "reviewer"]
    assert claims["exp"] - claims["iat"] == 600


def test_token_refuses_unknown_roles(platform_env, cli):
    code, _, err = cli("token", "--roles", "superuser")
    assert code == 1 and "unknown roles: superuser" in err


def test_production_refuses_the_dev_key(platform_env, monkeypatch, cli):
    monkeypatch.setenv("ENV", "production")
    monkeypatch.setenv("JWT_PRIVATE_KEY", "")
    code, _, err = cli("token")
    assert code == 1 and "JWT_PRIVATE_KEY not set" in err


@pytest.fixture
def housing(platform_env, container_factory, service_config):
    url = platform_env["housing"]["db"]
    upgrade("housing", url)
    container = container_factory(
        HousingService, service_config(url, WEB_SERVER_ADDRESS=platform_env["housing"]["http"])
    )
    container.start()
    return container


def test_health_reports_the_running_service_and_the_missing_ones(housing, cli):
    code, out, _ = cli("health")
    assert code == 1  # four of the five are not running
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") >= 4}
    assert set(rows) >= {"housing", "insurance", "events", "notify", "stats"}
    assert rows["housing"].count(" ok ") == 2  # HTTP and RPC
    assert "unreachable" in rows["stats"] and "no answer" in rows["stats"]


def test_outbox_status_counts_unpublished_rows(platform_env, cli):
    url = platform_env["housing"]["db"]
    upgrade("housing", url)
    engine = make_engine(url)
    old = utcnow() - timedelta(minutes=10)  # the platform clock, which the CLI reads
    rows = [
        {
            "event_id": f"e{i}",
            "exchange": "housing.events",
            "routing_key": "subsidy_approved",
            "body": "{}",
            "created_at": old,
            "published_at": old if i == 0 else None,
            "attempts": 1 if i == 2 else 0,
        }
        for i in range(3)
    ]
    with engine.begin() as connection:
        connection.execute(insert(OutboxMessage), rows)
    engine.dispose()

    code, out, _ = cli("outbox", "status")
    assert code == 1  # the other services' databases were never migrated: said so, not hidden
    housing_row = next(line for line in out.splitlines() if "housing" in line)
    cells = [cell.strip() for cell in housing_row.split("│")[1:-1]]
    assert cells[0] == "housing" and cells[1] == "2" and cells[3] == "1"
    assert 590 <= int(cells[2]) <= 700  # the oldest unpublished row is about ten minutes old
    assert "no such table" in next(line for line in out.splitlines() if "stats" in line)


def test_outbox_status_via_metrics(housing, cli):
    # the gauge is set by the outbox sweep (every 0.5 s in the test config): wait for its first pass
    def swept():
        code, out, _ = cli("outbox", "status", "--via", "metrics")
        housing = next(line for line in out.splitlines() if "housing" in line)
        return None if "no outbox gauge" in housing else (code, out)

    code, out = wait_for(swept, what="the first outbox sweep")
    housing_row = next(line for line in out.splitlines() if "housing" in line)
    assert [cell.strip() for cell in housing_row.split("│")[1:3]] == ["housing", "0"]
    assert "unreachable" in next(line for line in out.splitlines() if "notify" in line)
    assert code == 0


CALLS: list[tuple] = []


class FakeHousing:
    name = "housing"
    auth = Auth()

    @rpc
    @requires("admin")
    def run_disbursement(self, period):
        CALLS.append(("run_disbursement", period, self.auth.caller.subject))
        return {"period": period, "disbursed": 2, "amount_fen": 240000}


class FakeNotify:
    name = "notify"
    auth = Auth()
    polls = {"n": 0}

    @rpc
    @requires("admin")
    def broadcast(self, template_id, segment, personalisation):
        CALLS.append(("broadcast", template_id, segment, personalisation))
        return {"id": "b-1", "status": "running", "total": 3, "sent": 0}

    @rpc
    def get_broadcast(self, broadcast_id):
        self.polls["n"] += 1
        sent = min(3, self.polls["n"])
        return {"id": broadcast_id, "status": "completed" if sent == 3 else "running", "total": 3, "sent": sent}


class FakeStats:
    name = "stats"
    auth = Auth()

    @rpc
    def report(self, from_year, to_year):
        CALLS.append(("report", from_year, to_year))
        return {"households": 7044, "text": f"{from_year}年至{to_year}年，累计保障外来务工人员家庭7044户"}


@pytest.fixture
def stand_ins(platform_env, container_factory, rabbit_config):
    CALLS.clear()
    FakeNotify.polls["n"] = 0
    config = {**rabbit_config, "JWT_PUBLIC_KEYS": TOKEN_ENV["JWT_PUBLIC_KEYS"], "ENV": "test"}
    for cls in (FakeHousing, FakeNotify, FakeStats):
        container_factory(cls, config).start()


def test_disburse_calls_housing_as_admin(stand_ins, cli):
    code, out, _ = cli("disburse", "2025-03", "--json")
    assert code == 0
    assert json.loads(out) == {"period": "2025-03", "disbursed": 2, "amount_fen": 240000}
    assert CALLS == [("run_disbursement", "2025-03", "ops-cli")]


def test_disburse_checks_the_period_before_calling(stand_ins, cli):
    code, _, err = cli("disburse", "2025-13")
    assert code == 2 and "YYYY-MM" in err and CALLS == []


def test_broadcast_follows_progress_to_the_end(stand_ins, cli, monkeypatch):
    monkeypatch.setattr("ops.cli.BROADCAST_POLL_SECONDS", 0.01)
    code, out, _ = cli("broadcast", "7", "town=宗汉街道", "-p", "date=8月1日", "--json")
    assert code == 0
    assert CALLS == [("broadcast", 7, {"town": "宗汉街道"}, {"date": "8月1日"})]
    assert json.loads(out[out.index("{") :]) == {"id": "b-1", "status": "completed", "total": 3, "sent": 3}


def test_report_prints_the_text_and_figures(stand_ins, cli):
    code, out, _ = cli("report", "2019", "2024")
    assert code == 0
    assert "2019年至2024年，累计保障外来务工人员家庭7044户" in out and "7044" in out
    assert CALLS == [("report", 2019, 2024)]


def test_rpc_without_a_running_service_fails_in_one_line(platform_env, cli):
    code, _, err = cli("report", "2019", "2024")
    assert code == 1 and err.startswith("error: UnknownService")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("all", "all"), ("town=宗汉街道", {"town": "宗汉街道"}), ("town=a,category=b", {"town": "a", "category": "b"})],
)
def test_segments(text, expected):
    assert parse_segment(text) == expected


def test_personalisation_needs_key_value():
    assert parse_personalisation(["a=1", "b=x=y"]) == {"a": "1", "b": "x=y"}
    with pytest.raises(Exception, match="key=value"):
        parse_personalisation(["oops"])
