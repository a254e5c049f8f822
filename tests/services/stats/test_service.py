"""The stats service in a real container: envelopes published to `housing.events` over real RabbitMQ the way
nameko's EventDispatcher publishes them, figures read back over RPC, on SQLite and PostgreSQL."""

import json

import eventlet
import pytest
from kombu import Connection, Exchange
from nameko.standalone.rpc import ServiceRpcProxy
from prometheus_client import REGISTRY
from sqlalchemy import text

from services.stats.service import StatsService, consumed_kinds
from shared.platform.db import make_engine
from shared.platform.errors import Forbidden, NotAuthenticated, ValidationError
from tests.services.stats import factories as f
from tests.support.broker import signed_by
from tests.support.databases import migrate
from tests.support.metrics import metrics_showing
from tests.support.waiting import wait_for

WAIT_SECONDS = 30


def handled_by_stats() -> float:
    """Deliveries the stats consumers finished (first deliveries and skipped duplicates alike)."""
    return sum(
        sample.value
        for metric in REGISTRY.collect()
        if metric.name == "newcitizen_events_consumed"
        for sample in metric.samples
        if sample.name.endswith("_total")
        and sample.labels.get("service") == "stats"
        and sample.labels.get("outcome") == "success"
    )


def publish(amqp_uri: str, envelopes: list[dict]) -> None:
    """As nameko's EventDispatcher does: topic exchange "<source>.events", routing key = event type, JSON."""
    with Connection(amqp_uri) as connection:
        producer = connection.Producer()
        for envelope in envelopes:
            exchange = Exchange(f"{envelope['source']}.events", type="topic", durable=True)
            body = json.dumps(envelope)
            producer.publish(
                body, exchange=exchange, routing_key=envelope["event_type"], declare=[exchange], delivery_mode=2,
                content_type="application/json", content_encoding="utf-8", headers=signed_by(envelope["source"], body),
            )  # fmt: skip


def deliver(amqp_uri: str, envelopes: list[dict]) -> None:
    """Publish and wait (bounded) until stats has handled every delivery."""
    before = handled_by_stats()
    publish(amqp_uri, envelopes)
    wait_for(lambda: handled_by_stats() - before >= len(envelopes), timeout=WAIT_SECONDS, what="stats handled all")


@pytest.fixture
def stats(db_url, service_config, container_factory):
    migrate("stats", db_url)
    config = service_config(db_url)
    container = container_factory(StatsService, config)
    container.start()
    return config


def rpc(config, token):
    return ServiceRpcProxy("stats", config, context_data={"authorization": token}, timeout=WAIT_SECONDS)


def test_figures_count_each_event_once_rebuild_agrees_and_the_report_reads_like_the_seed(stats, token_for):
    envelopes = f.history_of_three_households()
    duplicate = envelopes[3]  # resident 1's 2024 approval, delivered three times
    deliver(stats["AMQP_URI"], [*envelopes, duplicate, json.loads(json.dumps(duplicate))])

    with rpc(stats, token_for("ad-1", "admin")) as admin:
        summary = admin.summary()
        assert summary["counters"]["housing.subsidy_approved"] == 3
        assert summary["counters"]["housing.subsidy_rejected"] == 1
        assert summary["counters"]["housing.tenancy_started"] == 0  # every consumed kind is listed
        assert set(summary["counters"]) >= {f"{s}.{t}" for s, t in consumed_kinds()}
        assert summary["households"] == 2
        assert summary["subsidy_approvals"] == 3
        assert summary["subsidy_paid_fen"] == 350_000
        assert summary["operator_subsidy"] == {"projects": 2, "units": 300, "amount_fen": 3_000_000}
        assert summary["events_archived"] == len(envelopes)
        assert summary["by_year"]["2019"]["households"] == 1
        assert summary["by_town"]["周巷镇"]["subsidy_paid_fen"] == 250_000
        assert summary["by_category"]["frontline_worker"]["households"] == 1

        in_2024_guanhaiwei = admin.summary(year=2024, town="观城")  # an old name resolves to 观海卫镇
        assert in_2024_guanhaiwei["town"] == "观海卫镇"
        assert in_2024_guanhaiwei["counters"]["housing.subsidy_approved"] == 1
        assert in_2024_guanhaiwei["households"] == 1
        assert in_2024_guanhaiwei["subsidy_rejections"] == 1

        report = admin.report(2019, 2024)
        assert report["text"] == (
            "一、安居保障\n"
            "2024年，共计对2个项目300套保租房发放运营奖补3万元。"
            "2019年至2024年，累计保障外来务工人员家庭2户，发放公租房租金补贴0.35万元。"
        )
        assert [section["section"] for section in report["sections"]] == ["housing"]
        assert report["figures"]["households"] == 2
        assert report["by_year"]["2024"]["operator_subsidy"]["units"] == 300
        assert admin.report(2020, 2023)["figures"]["households"] == 0

        rebuilt = admin.rebuild()
        assert (rebuilt["equal"], rebuilt["events"], rebuilt["differences"]) == (True, len(envelopes), [])

    with rpc(stats, token_for("cw-1", "caseworker")) as caseworker:
        assert caseworker.summary(year=2019)["households"] == 1
        with pytest.raises(Forbidden):
            caseworker.rebuild()

    metrics_showing(
        stats["WEB_SERVER_ADDRESS"],
        'newcitizen_stats_figure{figure="households",year="all"} 2.0',
        'newcitizen_stats_figure{figure="operator_subsidy_amount_fen",year="2024"} 3e+06',
        "newcitizen_stats_archived_events 9.0",
    )


def test_figures_keep_up_as_events_arrive(stats, token_for):
    with rpc(stats, token_for("ad-1", "admin")) as admin:
        assert admin.summary()["households"] == 0
        deliver(stats["AMQP_URI"], [f.approved(f.resident(n), f.shanghai(2023, 1, n)) for n in range(1, 6)])
        assert admin.summary(year=2023)["households"] == 5
        deliver(stats["AMQP_URI"], [f.tenancy_started(f.resident(9), f.shanghai(2023, 2, 1).date())])
        summary = admin.summary()
        assert (summary["households"], summary["tenancies"]) == (5, 1)
        assert admin.rebuild()["equal"] is True


@pytest.mark.parametrize(
    ("method", "args", "fields"),
    [
        ("summary", {"year": "2024"}, {"year"}),
        ("summary", {"year": 1999, "town": "上海"}, {"year", "town"}),
        ("report", {"from_year": 2024, "to_year": 2019}, {"from_year"}),
        ("report", {"from_year": None, "to_year": 3000}, {"from_year", "to_year"}),
        ("rebuild", {"repair": "sometimes"}, {"repair"}),
    ],
)
def test_bad_input_names_every_bad_field(stats, token_for, method, args, fields):
    with rpc(stats, token_for("ad-1", "admin")) as admin, pytest.raises(ValidationError) as raised:
        getattr(admin, method)(**args)
    assert set(raised.value.errors) == fields


def test_figures_need_a_staff_token(stats, token_for):
    with ServiceRpcProxy("stats", stats, timeout=WAIT_SECONDS) as anonymous, pytest.raises(NotAuthenticated):
        anonymous.summary()
    with rpc(stats, token_for("res-1", "resident")) as resident, pytest.raises(Forbidden):
        resident.report(2019, 2024)


def test_concurrent_deliveries_to_the_same_figures_lose_nothing(stats, token_for):
    towns = ("观海卫镇", "周巷镇", "浒山街道")
    envelopes = []
    for n in range(120):
        town = towns[n % 3]
        envelopes.append(f.approved(f.resident(n), f.shanghai(2024, 1 + n % 12, 5), town=town))
        envelopes.append(f.disbursed(f.resident(n), f"2024-{1 + n % 12:02d}", 50_000 + n, town=town))
    deliver(stats["AMQP_URI"], envelopes + envelopes[:20])  # ten handlers at a time, hot rows, some duplicates
    with rpc(stats, token_for("ad-1", "admin")) as admin:
        summary = admin.summary(year=2024)
        assert summary["counters"]["housing.subsidy_approved"] == 120
        assert summary["households"] == 120
        assert summary["subsidy_paid_fen"] == sum(50_000 + n for n in range(120))
        assert {town: figures["households"] for town, figures in summary["by_town"].items()} == dict.fromkeys(towns, 40)
        assert admin.rebuild()["equal"] is True


def test_rebuild_agrees_with_live_figures_while_events_keep_arriving(stats, token_for):
    envelopes = [f.approved(f.resident(n), f.shanghai(2022, 1 + n % 12, 3), town="坎墩街道") for n in range(200)]
    delivering = eventlet.spawn(deliver, stats["AMQP_URI"], envelopes)
    results = []
    with rpc(stats, token_for("ad-1", "admin")) as admin:
        while not delivering.dead or not results:
            results.append(admin.rebuild())
        delivering.wait()
        results.append(admin.rebuild())
    assert all(result["equal"] for result in results), [r["differences"] for r in results if not r["equal"]]
    assert results[-1]["events"] == 200


def test_repair_while_events_keep_arriving_loses_none_of_them(stats, token_for):
    deliver(stats["AMQP_URI"], [f.approved(f.resident(n), f.shanghai(2023, 6, 1)) for n in range(20)])
    engine = make_engine(stats["DATABASE_URL"])
    with engine.begin() as connection:  # a figure gone wrong (say, a fold rule since corrected)
        connection.execute(text("UPDATE stat_totals SET value = value + 1000"))
    engine.dispose()
    more = [f.approved(f.resident(n), f.shanghai(2023, 7, 1)) for n in range(20, 220)]
    delivering = eventlet.spawn(deliver, stats["AMQP_URI"], more)
    with rpc(stats, token_for("ad-1", "admin")) as admin:
        repaired = admin.rebuild(repair=True)
        delivering.wait()
        assert (repaired["equal"], repaired["repaired"]) == (False, True)
        final = admin.rebuild()
        assert (final["equal"], final["events"]) == (True, 220)
        assert admin.summary(year=2023)["counters"]["housing.subsidy_approved"] == 220
