"""Prometheus run for real (issue 18): Debian's `prometheus` on loopback with the project's own scrape
configuration and alert rules (deploy/prometheus), scraping a throw-away platform and a private RabbitMQ node
with its `rabbitmq_prometheus` plugin. Only the targets (to loopback ports), the intervals (1 s) and the rules
file's path differ from the install's; no `for:` is changed (an alert is pending from its first true evaluation).

Each fault is caused for real: notify's SMS provider (Alibaba Cloud's protocol, on the fake gateway) fails
every submission; a poison message reaches two consumers; housing's publish path to its exchange is refused by
the broker. Then every dashboard query and every selector of every alert is asked of Prometheus' HTTP API.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import yaml
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.utils import find_free_port

from ops.launcher import wait_healthy
from shared.platform.config import SERVICES
from tests.deploy.conftest import DEPLOY, alert_expressions, dashboard_expressions, selectors
from tests.support.broker import publish_raw
from tests.support.gateway import start_fake_gateway
from tests.support.platform import running_platform
from tests.support.private_rabbit import PrivateRabbitUnavailable, private_rabbit
from tests.support.residents import application
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.prometheus]

PROMETHEUS = shutil.which("prometheus")
WAIT_SECONDS = 90  # a bound for a loaded machine, never a timed assertion


def why_no_prometheus() -> str:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return "prometheus is not installed, and `make tools` cannot install it here (needs root and apt-get)"
    return "prometheus is not installed: `make tools` installs Debian's package (its install failed or was not run)"


@dataclass
class Stack:
    platform: object
    rabbit: object
    gateway: str
    prometheus: str
    targets: set

    def query(self, expr: str) -> list[dict]:
        answer = requests.get(f"{self.prometheus}/api/v1/query", params={"query": expr}, timeout=10).json()
        assert answer["status"] == "success", (expr, answer)
        return answer["data"]["result"]

    def alerts(self, name: str) -> list[dict]:
        answer = requests.get(f"{self.prometheus}/api/v1/alerts", timeout=10).json()
        return [alert for alert in answer["data"]["alerts"] if alert["labels"]["alertname"] == name]

    def rpc(self, sub: str, *roles: str) -> ClusterRpcProxy:
        context = {"authorization": self.platform.token(sub, *roles)}
        return ClusterRpcProxy(self.platform.rpc_config(), context_data=context, timeout=30)


def loopback_config(project: dict, platform, broker_port: int, rules: Path) -> dict:
    """The project's scrape configuration with each target moved to its loopback port."""
    config = yaml.safe_load(yaml.safe_dump(project))
    config["global"] = {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(rules)]
    for job in config["scrape_configs"]:
        for static in job["static_configs"]:
            if job["job_name"] == "newcitizen":
                static["targets"] = [f"127.0.0.1:{platform.ports[static['labels']['service']]}"]
            else:
                static["targets"] = [f"127.0.0.1:{broker_port}"]
    return config


def start_prometheus(run_dir: Path, config: dict, stack: ExitStack) -> str:
    (run_dir / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = find_free_port()
    log = stack.enter_context(open(run_dir / "prometheus.log", "ab"))  # noqa: SIM115 (closed by the stack)
    process = subprocess.Popen(
        [PROMETHEUS, f"--config.file={run_dir / 'prometheus.yml'}", f"--storage.tsdb.path={run_dir / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    stack.callback(lambda: (process.terminate(), process.wait(timeout=30)))
    url = f"http://127.0.0.1:{port}"

    def ready():
        assert process.poll() is None, (run_dir / "prometheus.log").read_text()
        try:
            return requests.get(f"{url}/-/ready", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    wait_for(ready, timeout=WAIT_SECONDS, interval=0.2, what="Prometheus ready")
    return url


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if PROMETHEUS is None:
        pytest.skip(why_no_prometheus())
    base = tmp_path_factory.mktemp("prometheus-live")
    broker_port, gateway_port = find_free_port(), find_free_port()
    with ExitStack() as stack:
        try:
            rabbit = stack.enter_context(private_rabbit(base / "rabbit", prometheus_port=broker_port))
        except PrivateRabbitUnavailable as exc:
            pytest.skip(f"no private RabbitMQ node ({exc}); the shared broker is never faulted")
        env = {
            "NOTIFY_SMS_PROVIDER": "aliyun",  # a vendor's protocol: its account-refusal series exist too
            "NOTIFY_ALIYUN_ENDPOINT": f"http://127.0.0.1:{gateway_port}",
            "NOTIFY_SMS_GATEWAY_TIMEOUT_SECONDS": "2",
        }
        run_dir = base / "platform"
        run_dir.mkdir()
        platform = stack.enter_context(running_platform(run_dir, extra_env=env, broker=rabbit))
        gateway, url = start_fake_gateway(gateway_port, platform.base_url("notify"))
        stack.callback(lambda: (gateway.terminate(), gateway.wait(timeout=10)))
        rules = base / "alerts.yml"
        shutil.copy(DEPLOY / "prometheus" / "alerts.yml", rules)
        project = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
        config = loopback_config(project, platform, broker_port, rules)
        targets = {target for job in config["scrape_configs"] for s in job["static_configs"] for target in s["targets"]}
        prometheus = start_prometheus(base, config, stack)
        yield Stack(platform, rabbit, url, prometheus, targets)


def approve(stack: Stack, count: int) -> None:
    with stack.rpc("caseworker", "caseworker") as caseworker, stack.rpc("reviewer", "reviewer") as reviewer:
        for _ in range(count):
            submitted = caseworker.housing.submit_subsidy_application(application())
            reviewer.housing.review_subsidy_application(submitted["application_id"], "approve")


def wait_pending(stack: Stack, name: str, **labels) -> dict:
    """The alert's first state seen once active: `pending` (every rule here has a `for:`)."""

    def active():
        return [a for a in stack.alerts(name) if labels.items() <= a["labels"].items()]

    return wait_for(active, timeout=WAIT_SECONDS, interval=0.5, what=f"{name} active")[0]


def not_active(stack: Stack, name: str) -> bool:
    # the rule has been evaluated (its group ran) and it is not active
    groups = requests.get(f"{stack.prometheus}/api/v1/rules", timeout=10).json()["data"]["groups"]
    rule = next(r for g in groups for r in g["rules"] if r.get("name") == name)
    return rule["health"] == "ok" and not rule["lastEvaluation"].startswith("0001") and rule["state"] == "inactive"


@pytest.fixture(scope="module")
def scraped(stack):
    def all_up():
        answer = requests.get(f"{stack.prometheus}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
        return len(answer) == len(SERVICES) + 2 and all(t["health"] == "up" for t in answer) and answer

    return wait_for(all_up, timeout=WAIT_SECONDS, interval=0.5, what="every target up")


# The faults are caused in one order, whatever the order of the tests: the SMS one needs housing's events to
# reach notify, and the outbox one stops them for good, so it comes last.
@pytest.fixture(scope="module")
def sms_failing(stack, scraped):
    """Every SMS submission to the provider fails (HTTP 503, as Alibaba Cloud's servers fail)."""
    approve(stack, 1)  # traffic while healthy: the alert has been evaluated false on a delivered SMS
    delivered = 'sum(newcitizen_notifications_total{channel="sms", status="delivered"}) > 0'
    wait_for(lambda: stack.query(delivered), timeout=WAIT_SECONDS, interval=0.5, what="an SMS delivered")
    wait_for(lambda: not_active(stack, "NewcitizenSmsFailureRate"), timeout=WAIT_SECONDS, interval=0.5)
    fault = {"mode": "fail", "provider": "aliyun", "seconds": 3600}
    requests.post(f"{stack.gateway}/test/fault", json=fault, timeout=5).raise_for_status()
    approve(stack, 3)
    return wait_pending(stack, "NewcitizenSmsFailureRate")


@pytest.fixture(scope="module")
def dead_lettered(stack, sms_failing):
    assert not stack.alerts("NewcitizenDeadLetterQueueNotEmpty")
    publish_raw(stack.platform.amqp_uri, "housing", "subsidy_approved", {"not": "an envelope"})
    return wait_pending(stack, "NewcitizenDeadLetterQueueNotEmpty", queue="stats.dlq")


@pytest.fixture(scope="module")
def backlogged(stack, dead_lettered):
    """The broker refuses housing's publishes to `housing.events` (its user may write everywhere else), and
    every connection is closed so no channel keeps a cached permission: the relay and the sweep fail."""
    assert not stack.alerts("NewcitizenOutboxBacklogGrowing")
    vhost = urlsplit(stack.platform.amqp_uri).path.lstrip("/")
    stack.rabbit.ctl("set_permissions", "-p", vhost, "guest", ".*", r"^(?!housing\.events$).*", ".*")
    stack.rabbit.close_all_connections("the test refuses housing's publishes")
    assert not wait_healthy(SERVICES, stack.platform.env, run_dir=stack.platform.run_dir)
    with stack.rpc("caseworker", "caseworker") as caseworker:
        for _ in range(60):  # two outbox rows each: over the rule's 100
            caseworker.housing.submit_subsidy_application(application())
    return wait_pending(stack, "NewcitizenOutboxBacklogGrowing", service="housing")


def test_every_target_is_scraped(scraped):
    assert {t["labels"]["job"] for t in scraped} == {"newcitizen", "rabbitmq", "rabbitmq-node"}


def test_a_failing_sms_provider_makes_the_sms_failure_alert_pending(stack, sms_failing):
    assert sms_failing["state"] == "pending"
    [failures] = stack.query('sum(newcitizen_notifications_total{channel="sms", status=~".+-failure"})')
    assert float(failures["value"][1]) >= 1


def test_a_poison_message_makes_the_dead_letter_alert_pending(stack, dead_lettered):
    assert dead_lettered["state"] == "pending"
    # the broker's own age of the oldest message, from the timestamp the dead-letter copy carries
    [age] = stack.query('time() - rabbitmq_detailed_queue_head_message_timestamp{queue="stats.dlq"}')
    assert 0 <= float(age["value"][1]) < 600


def test_refused_publishes_make_the_outbox_backlog_alert_pending(stack, backlogged):
    assert backlogged["state"] == "pending"
    [age] = stack.query('newcitizen_outbox_oldest_unpublished_age_seconds{service="housing"}')
    assert float(age["value"][1]) > 0
    assert stack.query('increase(newcitizen_outbox_publish_failures_total{service="housing"}[5m]) > 0')


def test_worker_pools_are_measured_per_service(stack, scraped):
    sizes = {s["metric"]["service"]: float(s["value"][1]) for s in stack.query("newcitizen_worker_pool_size")}
    assert set(sizes) == set(SERVICES) and all(size >= 1 for size in sizes.values())
    assert len(stack.query("newcitizen_worker_pool_busy / newcitizen_worker_pool_size <= 1")) == len(SERVICES)


def finite(series: list[dict]) -> bool:
    return any(math.isfinite(float(s["value"][1])) for s in series)


def test_every_dashboard_query_returns_series(stack, dashboard, backlogged):
    empty = {where: expr for where, expr in dashboard_expressions(dashboard).items() if not finite(stack.query(expr))}
    assert empty == {}


def test_every_alert_reads_series_scraped_from_the_platform(stack, alert_rules, backlogged):
    """Each selector of each rule, asked alone: it has series, and each comes from one of the test's targets."""
    problems = []
    for name, expr in alert_expressions(alert_rules).items():
        for selector in selectors(expr):
            found = stack.query(selector)
            if not found:
                problems.append(f"{name}: {selector} has no series")
            elif any(s["metric"].get("instance") not in stack.targets for s in found):
                problems.append(f"{name}: {selector} has series from elsewhere")
    assert problems == []
