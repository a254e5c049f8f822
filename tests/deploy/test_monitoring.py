"""Alert rules and the dashboard refer only to metrics that really exist, with labels they really have:
`newcitizen_*` as a running service exposes them on /metrics, `rabbitmq_detailed_*` as RabbitMQ's
Prometheus plugin does. Rules pass promtool's checks and its unit tests (deploy/prometheus/alerts.test.yml)."""

import importlib
import re
import shutil
import subprocess

import pytest
import requests
import yaml
from nameko.testing.utils import find_free_port
from prometheus_client import REGISTRY

from services.housing.service import HousingService
from shared.platform.config import SERVICES
from tests.deploy.conftest import DEPLOY, alert_expressions, dashboard_expressions, metric_matches, selectors, slug
from tests.support.databases import migrate

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (apt-get install prometheus)")

# what RabbitMQ's rabbitmq_prometheus serves (checked against RabbitMQ 3.10): at /metrics/detailed with the
# families of the `rabbitmq` job (labels vhost and queue), and at /metrics, the `rabbitmq-node` job (node-wide,
# no labels of its own); `up` is Prometheus' own
DETAILED_FAMILIES = ("queue_coarse_metrics", "queue_consumer_count", "queue_metrics")
BROKER_METRICS = {
    "rabbitmq_detailed_queue_messages_ready": {"vhost", "queue"},
    "rabbitmq_detailed_queue_messages_unacked": {"vhost", "queue"},
    "rabbitmq_detailed_queue_messages": {"vhost", "queue"},
    "rabbitmq_detailed_queue_consumers": {"vhost", "queue"},
    "rabbitmq_detailed_queue_head_message_timestamp": {"vhost", "queue"},
}
BROKER_NODE_METRICS = {
    name: set()
    for name in (
        "rabbitmq_alarms_memory_used_watermark",
        "rabbitmq_alarms_free_disk_space_watermark",
        "rabbitmq_alarms_file_descriptor_limit",
        "rabbitmq_process_resident_memory_bytes",
        "rabbitmq_resident_memory_limit_bytes",
        "rabbitmq_disk_space_available_bytes",
        "rabbitmq_disk_space_available_limit_bytes",
    )
}
PROMETHEUS_METRICS = {"up": {"job", "instance", "service"}}
TARGET_LABELS = {"job", "instance"}  # Prometheus adds them to every scraped series

LABEL_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")


def references(expr: str) -> list[tuple[str, set[str]]]:
    """(metric name, label names in its selector) for every metric an expression reads."""
    return [(match.group(1), set(LABEL_MATCHER.findall(match.group(2) or ""))) for match in metric_matches(expr)]


@pytest.fixture
def scraped(container_factory, service_config, sqlite_url) -> str:
    """One real scrape; every service module is imported so its own metrics are registered, as in its process."""
    for service in SERVICES:
        importlib.import_module(f"services.{service}.service")
    migrate("housing", sqlite_url)
    address = f"127.0.0.1:{find_free_port()}"
    container = container_factory(HousingService, service_config(sqlite_url, WEB_SERVER_ADDRESS=address))
    container.start()
    response = requests.get(f"http://{address}/metrics", timeout=5)
    response.raise_for_status()
    return response.text


def series_names(scrape_text: str) -> dict[str, str]:
    """Series name -> family, from the TYPE lines of a real scrape (a family with no samples yet still has one)."""
    names = {}
    for family, kind in re.findall(r"^# TYPE (\S+) (\S+)$", scrape_text, re.M):
        if kind == "histogram":
            for suffix in ("_bucket", "_sum", "_count", "_created"):
                names[family + suffix] = family
        elif kind == "counter":
            base = family.removesuffix("_total")
            names[base + "_total"] = family
            names[base + "_created"] = family
        else:
            names[family] = family
    return names


def test_every_queried_metric_is_served_with_the_labels_queried(scraped, alert_rules, dashboard):
    served = series_names(scraped)
    labels_of = {}
    collectors = {id(c): c for c in REGISTRY._names_to_collectors.values() if hasattr(c, "_labelnames")}
    for collector in collectors.values():
        for name, family in served.items():
            if family.removesuffix("_total") == collector._name.removesuffix("_total"):
                labels_of[name] = set(collector._labelnames) | ({"le"} if name.endswith("_bucket") else set())
    known = {
        name: labels | TARGET_LABELS
        for name, labels in {**labels_of, **BROKER_METRICS, **BROKER_NODE_METRICS, **PROMETHEUS_METRICS}.items()
    }
    problems = []
    expressions = {**alert_expressions(alert_rules), **dashboard_expressions(dashboard)}
    for where, expr in expressions.items():
        for name, labels in references(expr):
            if name not in known:
                problems.append(f"{where}: {name} is not served")
            elif not labels <= known[name]:
                problems.append(f"{where}: {name} has no label(s) {sorted(labels - known[name])}")
    assert problems == []
    assert len(expressions) > 25  # the scan really read the rules and the panels


def test_the_scan_catches_a_made_up_metric():
    assert references('sum(rate(newcitizen_made_up_total{service="x"}[5m]))') == [
        ("newcitizen_made_up_total", {"service"})
    ]


def test_the_scan_finds_every_selector_as_written():
    assert selectors('max by (q) (time() - (rabbitmq_x{queue=~"evt-.+"} > 0)) and up == 0') == [
        'rabbitmq_x{queue=~"evt-.+"}',
        "up",
    ]
    found = selectors('rate(newcitizen_a_total{a!~"b"}[5m]) / up{job="x"}')
    assert found == ['newcitizen_a_total{a!~"b"}', 'up{job="x"}']


def test_broker_metric_names_match_a_live_rabbitmq_when_its_plugin_answers():
    try:
        detailed = requests.get(
            "http://127.0.0.1:15692/metrics/detailed", params=[("family", f) for f in DETAILED_FAMILIES], timeout=5
        )
        node = requests.get("http://127.0.0.1:15692/metrics", timeout=5)
    except requests.RequestException:
        pytest.skip("rabbitmq_prometheus is not enabled on the local broker (port 15692)")
    assert set(BROKER_METRICS) <= set(re.findall(r"^# TYPE (\S+) ", detailed.text, re.M))
    assert set(BROKER_NODE_METRICS) <= set(re.findall(r"^# TYPE (\S+) ", node.text, re.M))


REQUIRED_ALERTS = {
    "NewcitizenOutboxBacklogGrowing": "outbox backlog growing",
    "NewcitizenDeadLetterQueueNotEmpty": "dead-letter queue not empty",
    "NewcitizenConsumerRetriesSpiking": "consumer retries spiking",
    "NewcitizenRpcErrorRate": "RPC error rate",
    "NewcitizenRpcLatencyP99High": "RPC p99 latency",
    "NewcitizenSmsFailureRate": "SMS failure rate",
    "NewcitizenServiceDown": "a service down",
}


def test_the_issue_s_alerts_exist_with_a_runbook_section(alert_rules):
    rules = {rule["alert"]: rule for group in alert_rules["groups"] for rule in group["rules"]}
    assert set(REQUIRED_ALERTS) <= set(rules)
    headings = {
        slug(line.lstrip("#"))
        for line in (DEPLOY.parent / "docs" / "operations.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in ("page", "ticket"), name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name
        path, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert path == "docs/operations.md" and anchor in headings, f"{name}: no section #{anchor}"


def test_dashboard_covers_what_the_issue_asks_for(dashboard):
    panels = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels:
        assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}, panel["title"]
        assert panel["targets"] and all(target["expr"] for target in panel["targets"]), panel["title"]
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"} and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
    queried = " ".join(dashboard_expressions(dashboard).values())
    for metric in (
        "newcitizen_entrypoint_requests_total",  # RPC rate and errors per service
        "newcitizen_entrypoint_latency_seconds_bucket",  # RPC latency
        "newcitizen_events_consumed_total",  # event flow per consumer
        "newcitizen_outbox_backlog",
        "newcitizen_notifications_total",  # notifications by status
        "newcitizen_stats_figure",  # the Center's headline figures
        "newcitizen_worker_pool_busy",  # worker-pool saturation per service
        "newcitizen_outbox_oldest_unpublished_age_seconds",
        "rabbitmq_detailed_queue_head_message_timestamp",  # the oldest message per queue
        "rabbitmq_alarms_memory_used_watermark",  # broker health
    ):
        assert metric in queried, metric


def test_datasource_uid_matches_the_dashboard():
    provisioned = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())
    assert [source["uid"] for source in provisioned["datasources"]] == ["prometheus"]
    provider = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "dashboards" / "newcitizen.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


def test_prometheus_scrapes_every_service_and_the_broker():
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    targets = {target["labels"]["service"]: target["targets"] for target in jobs["newcitizen"]["static_configs"]}
    assert targets == {name: [f"{name}:8000"] for name in ("housing", "insurance", "events", "notify", "stats")}
    assert jobs["rabbitmq"]["metrics_path"] == "/metrics/detailed"
    assert tuple(jobs["rabbitmq"]["params"]["family"]) == DETAILED_FAMILIES
    assert jobs["rabbitmq"]["static_configs"] == jobs["rabbitmq-node"]["static_configs"]
    assert jobs["rabbitmq-node"]["metrics_path"] == "/metrics"
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]


@needs_promtool
def test_promtool_accepts_the_rules_and_their_unit_tests_pass():
    rules = DEPLOY / "prometheus" / "alerts.yml"
    checked = subprocess.run([PROMTOOL, "check", "rules", str(rules)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        [PROMTOOL, "test", "rules", "alerts.test.yml"], cwd=rules.parent, capture_output=True, text=True
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


@needs_promtool
def test_promtool_accepts_the_scrape_config(tmp_path):
    # the config names the rules file by its path inside the container; check it beside a copy
    text = (DEPLOY / "prometheus" / "prometheus.yml").read_text().replace("/etc/prometheus/alerts.yml", "alerts.yml")
    (tmp_path / "prometheus.yml").write_text(text)
    shutil.copy(DEPLOY / "prometheus" / "alerts.yml", tmp_path / "alerts.yml")
    checked = subprocess.run(
        [PROMTOOL, "check", "config", "prometheus.yml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
