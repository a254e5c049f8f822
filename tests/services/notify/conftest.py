"""notify's fixtures: a running NotifyService on a real broker and database, the fake gateway as a real
HTTP server on loopback, and helpers to publish housing events and wait for outcomes."""

import json
from datetime import UTC, datetime

import pytest
import requests
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.utils import find_free_port
from sqlalchemy import insert, select

from services.notify import callback_auth
from services.notify.dependencies import Courier
from services.notify.models import Contact
from services.notify.service import NotifyService
from shared.platform.clock import SHANGHAI, Clock
from shared.platform.contracts import build_envelope
from shared.platform.db import make_engine
from shared.platform.jobs import JobRunner
from shared.platform.models import OutboxMessage
from shared.platform.personal_data import mask_phone
from shared.platform.personal_data_provider import PiiTools, keys_from_config
from tests.support.broker import publish_raw
from tests.support.databases import migrate
from tests.support.gateway import start_fake_gateway
from tests.support.waiting import ConditionNotMet, wait_for

WAIT_SECONDS = 20


@pytest.fixture
def fake_gateway():
    """Start `python -m services.notify.fake_gateway` as a process; returns its base URL."""
    processes = []

    def start(callback: str, **options) -> str:
        port = find_free_port()
        while f":{port}" in callback:  # find_free_port can hand out notify's own port again
            port = find_free_port()
        process, url = start_fake_gateway(port, callback, **options)
        processes.append(process)
        return url

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=5)


class Notify:
    """A started NotifyService plus what a test needs to drive it."""

    def __init__(self, container, config: dict, gateway: str | None, factory):
        self.container = container
        self.factory = factory
        self.config = config
        self.gateway = gateway
        self.pii = PiiTools(keys_from_config(config))
        self.base_url = f"http://{config['WEB_SERVER_ADDRESS']}"

    def restart(self, **overrides) -> None:
        """Kill the container (a crash: no graceful stop) and start a fresh one on the same database."""
        clock = self.clock
        self.container.kill()
        self.config = {**self.config, **overrides}
        self.container = self.factory(NotifyService, self.config)
        self.clock.frozen, self.clock.offset = clock.frozen, clock.offset  # the same time after the restart
        self.container.start()

    @property
    def courier(self):
        return next(dep for dep in self.container.dependencies if isinstance(dep, Courier))

    @property
    def jobs(self) -> JobRunner:
        """The service's job runner: with `JOBS_ENABLED=False`, `jobs.step()` runs one chunk by hand."""
        return next(dep for dep in self.container.dependencies if isinstance(dep, JobRunner))

    @property
    def clock(self) -> Clock:
        return next(dep for dep in self.container.dependencies if isinstance(dep, Clock))

    def rpc(self, token: str):
        return ServiceRpcProxy("notify", self.config, context_data={"authorization": token})

    def publish(self, event_type: str, data: dict, event_id: str | None = None, source: str = "housing") -> dict:
        envelope = build_envelope(source, event_type, data, event_id=event_id)
        publish_raw(self.config["AMQP_URI"], source, event_type, envelope)  # signed as `source` signs
        return envelope

    def contact_event(self, resident_id: str, phone: str, town: str = "浒山街道", category: str = "new_graduate"):
        return self.publish(
            "contact_provided",
            {
                "resident_id": resident_id,
                "phone_encrypted": self.pii.encrypt(phone, bound_to=resident_id),
                "town": town,
                "category": category,
            },
        )

    def post_gateway(self, path: str, body: dict) -> dict:
        return requests.post(f"{self.gateway}{path}", json=body, timeout=10).json()

    def gateway_stats(self) -> dict:
        return requests.get(f"{self.gateway}/test/stats", timeout=5).json()

    def add_contacts(self, count: int, town: str = "浒山街道", consent: bool = True, first: int = 0) -> list[str]:
        """Factory: contact rows written straight to notify's database (phones 15000000000 + i)."""
        now = datetime.now(UTC)
        rows = []
        for i in range(first, first + count):
            phone = f"150{i:08d}"
            rows.append(
                {
                    "resident_id": f"r_{i:032d}",
                    "phone_encrypted": self.pii.encrypt(phone),
                    "phone_index": self.pii.index(phone, "phone"),
                    "phone_masked": mask_phone(phone),
                    "preferred_channel": "sms",
                    "promo_consent": consent,
                    "town": town,
                    "category": "frontline_worker",
                    "created_at": now,
                    "updated_at": now,
                }
            )
        engine = make_engine(self.config["DATABASE_URL"])
        with engine.begin() as connection:
            connection.execute(insert(Contact), rows)
        engine.dispose()
        return [row["resident_id"] for row in rows]

    def gateway_messages(self, mobile: str | None = None) -> list[dict]:
        params = {"mobile": mobile} if mobile else {}
        return requests.get(f"{self.gateway}/test/messages", params=params, timeout=5).json()

    def gateway_submissions(self, notification_id: str) -> list[tuple[str, str, str]]:
        """(out_id, result, answer) of every submission of one notification the gateway saw, in order."""
        rows = requests.get(f"{self.gateway}/test/submissions", timeout=5).json()
        return [(r["out_id"], r["result"], r["answer"]) for r in rows if r["out_id"].startswith(notification_id)]

    def push_receipts(self, receipts: list[dict]) -> dict:
        """Receipts pushed to notify's callback as the gateway would: signed with its key; returns the outcome."""
        body, path = json.dumps(receipts).encode(), "/callbacks/sms/receipts"
        headers = {
            "Content-Type": "application/json",
            **callback_auth.sign_headers(self.config["SMS_GATEWAY_KEY"], "POST", path, body),
        }
        response = requests.post(f"{self.base_url}{path}", data=body, headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["applied"]


def rows_when(notify, token, predicate, **filters):
    """`list_notifications(**filters)` once it is non-empty and `predicate` holds for it."""
    seen = []

    def check():
        with notify.rpc(token) as rpc:
            seen[:] = rpc.list_notifications(**filters)
        return seen if seen and predicate(seen) else None

    try:
        return wait_for(check, timeout=WAIT_SECONDS)
    except ConditionNotMet:
        raise AssertionError(f"not reached: {seen}") from None


def outbox_events(notify) -> list[dict]:
    """Every event notify has written to its outbox, published or not."""
    engine = make_engine(notify.config["DATABASE_URL"])
    with engine.connect() as connection:
        bodies = connection.execute(select(OutboxMessage.body)).scalars().all()
    engine.dispose()
    return [json.loads(body) for body in bodies]


@pytest.fixture
def start_notify(db_url, service_config, container_factory, fake_gateway):
    def start(
        gateway: bool = True, gateway_options: dict | None = None, at: datetime | None = None, **overrides
    ) -> Notify:
        """`at`: the instant notify's clock starts from (and ticks on), for behaviour that depends on the time."""
        migrate("notify", db_url)
        defaults = {
            "DISPATCH_INTERVAL_SECONDS": 0.05,
            "DELIVERY_SWEEP_SECONDS": 0.2,
            "DELIVERY_RETRY_DELAYS_SECONDS": [0.2, 0.4],
            "QUIET_HOURS": "20:00-08:00",
        }
        config = service_config(db_url, **{**defaults, **overrides})
        url = None
        if gateway:
            url = fake_gateway(f"http://{config['WEB_SERVER_ADDRESS']}", **(gateway_options or {}))
            config.setdefault("SMS_PROVIDER", "gateway")
            config.setdefault("SMS_GATEWAY_URL", url)
            config.setdefault("SMS_GATEWAY_KEY", "dev-gateway-key")
            config.setdefault("WECHAT_CALLBACK_KEY", "dev-wechat-callback-key")
            config.setdefault("WECHAT_PROVIDER", "wechat")
            config.setdefault("WECHAT_API_URL", url)
            config.setdefault("ALIYUN_ENDPOINT", url)  # the fake speaks the vendors' protocols too
            config.setdefault("TENCENT_ENDPOINT", url)
        container = container_factory(NotifyService, config)
        notify = Notify(container, config, url, container_factory)
        if at is not None:
            notify.clock.start_at(at)
        container.start()
        return notify

    return start


# a Monday morning in Cixi: outside quiet hours, far from the local midnight at which daily caps reset
DAYTIME = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)


def approved(resident_id: str, monthly_subsidy_fen: int = 84000) -> dict:
    return {
        "application_id": "app-1",
        "resident_id": resident_id,
        "town": "浒山街道",
        "category": "new_graduate",
        "household_size": 3,
        "monthly_subsidy_fen": monthly_subsidy_fen,
        "approved_at": datetime(2026, 3, 2, 2, 0, tzinfo=UTC).isoformat(),
        "policy_ref": "慈住建〔2024〕1号",
    }
