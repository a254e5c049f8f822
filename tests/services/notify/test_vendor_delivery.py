"""notify sending through Alibaba Cloud and Tencent Cloud (their official SDKs, against the fake gateway that
speaks their protocols): by template code, receipts and replies in the vendors' own push formats, failover,
segments per provider per day, status counters with samples, and the alerts those samples raise."""

import shutil
import subprocess
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
import yaml
from nameko.exceptions import RemoteError
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.notify import metrics, usage
from services.notify.fake_gateway import PERMANENT_FAILURE_NUMBER
from services.notify.models import Notification, ProviderTemplate, SmsUsage
from shared.platform.db import make_engine
from tests.services.notify.conftest import approved, rows_when, wait_for
from tests.services.notify.vendors import vendor_config

PHONE = "13812345678"
RESIDENT = "r_" + "a" * 32
FINAL = ("delivered", "permanent-failure", "temporary-failure", "technical-failure")


def all_final(rows):
    return all(row["status"] in FINAL and row["retry_at"] is None for row in rows)


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
def test_an_approval_goes_as_template_code_and_parameters_and_its_receipt_comes_back(start_notify, token_for, provider):
    notify = start_notify(**vendor_config(provider))
    token = token_for("caseworker-1", "caseworker")
    notify.contact_event(RESIDENT, PHONE)
    notify.contact_event("r_" + "b" * 32, PERMANENT_FAILURE_NUMBER)
    notify.publish("subsidy_approved", approved(RESIDENT, 84050))
    notify.publish("subsidy_approved", {**approved("r_" + "b" * 32), "application_id": "app-2"})

    row = rows_when(notify, token, all_final, resident_id=RESIDENT)[0]
    assert row["status"] == "delivered" and row["provider"] == provider
    # the history keeps the Chinese text (masked), while the provider got the code and the parameters
    assert row["body"] == "【慈溪新市民】您的公共租赁住房租赁补贴申请已获批准，每月补贴840.5元，将按月发放。"
    [sent] = notify.gateway_messages(PHONE)
    code = code_of(notify, "subsidy_approved", provider)
    assert sent["provider"] == provider and code in sent["content"] and "840.5" in sent["content"]
    assert "获批准" not in sent["content"]
    failed = rows_when(notify, token, all_final, resident_id="r_" + "b" * 32)[0]
    assert failed["status"] == "permanent-failure" and provider in failed["failure_reason"]


def code_of(notify, template_id: str, provider: str) -> str:
    engine = make_engine(notify.config["DATABASE_URL"])
    with engine.connect() as connection:
        code = connection.execute(
            select(ProviderTemplate.code).where(
                ProviderTemplate.template_id == template_id, ProviderTemplate.provider == provider
            )
        ).scalar_one()
    engine.dispose()
    return code


@pytest.mark.parametrize(("provider", "calls"), [("aliyun", [100, 100, 50]), ("tencent", [200, 50])])
def test_a_broadcast_goes_in_the_vendors_largest_calls_matched_back_by_number(start_notify, token_for, provider, calls):
    notify = start_notify(**vendor_config(provider))
    token = token_for("admin", "admin")
    notify.add_contacts(250)
    with notify.rpc(token) as rpc:
        broadcast = rpc.broadcast("policy_notice", {"all": True}, {"title": "居住证办理指南"})

    def completed():
        with notify.rpc(token) as rpc:
            progress = rpc.get_broadcast(broadcast["id"])
        return progress if progress["status"] == "completed" else None

    progress = wait_for(completed, timeout=60)
    assert progress["by_status"]["delivered"] == 250
    sent = notify.gateway_messages()
    assert len(sent) == 250 and len({m["mobile"] for m in sent}) == 250  # each once
    assert all(m["out_id"].startswith("call-") for m in sent)  # batch calls: receipts matched by number
    # SendBatchSms of 100 numbers, or SendSms of 200: each message echoes its call's token
    assert sorted(Counter(m["out_id"] for m in sent).values(), reverse=True) == calls
    assert requests.get(f"{notify.gateway}/test/stats", timeout=5).json()[f"{provider}_calls"] == len(calls)
    engine = make_engine(notify.config["DATABASE_URL"])
    with Session(engine) as session:
        days = [usage.of_day(session, day) for day in sorted(set(session.scalars(select(SmsUsage.day))))]
    engine.dispose()
    assert sum(day[provider]["messages"] for day in days) == 250
    assert sum(day[provider]["segments"] for day in days) == 250 * progress["segments"]


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
def test_a_reply_of_td_in_the_vendors_format_opts_the_number_out(start_notify, token_for, provider):
    notify = start_notify(**vendor_config(provider))
    token = token_for("caseworker-1", "caseworker")
    notify.contact_event(RESIDENT, PHONE)
    wait_for(lambda: contact(notify, token))
    answer = notify.post_gateway("/test/inbound", {"mobile": PHONE, "content": "退订", "provider": provider})
    assert answer == {"forwarded": 200}
    with notify.rpc(token) as rpc:
        assert rpc.get_contact(RESIDENT)["opted_out"] is True


def contact(notify, token):
    with notify.rpc(token) as rpc:
        try:
            return rpc.get_contact(RESIDENT)
        except RemoteError:  # ContactNotFound until the event is handled
            return None


def test_vendor_callbacks_need_the_secret_path_and_an_allowed_source(start_notify):
    notify = start_notify(gateway=False, **vendor_config("aliyun", "tencent", TENCENT_CALLBACK_SOURCES="10.0.0.0/8"))
    base = notify.base_url
    report = [{"phone_number": PHONE, "success": True, "err_code": "DELIVERED", "biz_id": "1^0", "out_id": "x.1"}]
    ok = requests.post(f"{base}/callbacks/aliyun/dev-aliyun-callback/report", json=report, timeout=10)
    assert ok.status_code == 200 and ok.json() == {"code": 0, "msg": "成功"}
    wrong = requests.post(f"{base}/callbacks/aliyun/guessed/report", json=report, timeout=10)
    assert wrong.status_code == 404 and PHONE not in wrong.text
    status = [{"mobile": PHONE, "report_status": "SUCCESS", "errmsg": "DELIVRD", "sid": "s-1"}]
    from_elsewhere = requests.post(f"{base}/callbacks/tencent/dev-tencent-callback/status", json=status, timeout=10)
    assert from_elsewhere.status_code == 404  # 127.0.0.1 is not in the allowed 10.0.0.0/8
    unknown_kind = requests.post(f"{base}/callbacks/aliyun/dev-aliyun-callback/other", json=report, timeout=10)
    assert unknown_kind.status_code == 404


def test_tencent_acknowledges_in_its_own_shape(start_notify):
    notify = start_notify(gateway=False, **vendor_config("tencent"))
    status = [{"mobile": PHONE, "report_status": "FAIL", "errmsg": "MK:0012", "sid": "s-1"}]
    answer = requests.post(f"{notify.base_url}/callbacks/tencent/dev-tencent-callback/status", json=status, timeout=10)
    assert answer.status_code == 200 and answer.json() == {"result": 0, "errmsg": "OK"}


def test_failover_moves_traffic_off_a_failing_provider_and_nothing_goes_twice(start_notify, token_for):
    notify = start_notify(
        **vendor_config("aliyun", "tencent", SMS_FAILOVER_MIN_RESULTS=1, SMS_FAILOVER_COOLDOWN_SECONDS=600)
    )
    token = token_for("caseworker-1", "caseworker")
    notify.post_gateway("/test/fault", {"mode": "fail", "calls": 1000, "provider": "aliyun"})
    residents = [f"r_{i:032d}" for i in range(3)]
    for i, resident in enumerate(residents):
        notify.contact_event(resident, f"1370000000{i}")
        notify.publish("subsidy_approved", {**approved(resident), "application_id": f"app-{i}"})
    for i, resident in enumerate(residents):
        row = rows_when(notify, token, all_final, resident_id=resident)[0]
        assert row["status"] == "delivered" and row["provider"] == "tencent"
        assert [m["provider"] for m in notify.gateway_messages(f"1370000000{i}")] == ["tencent"]


# a lost answer: the engine asks the vendor's records (QuerySendDetails, PullSmsSendStatusByPhoneNumber) before
# it sends again; enough retries that a query failing a few times never ends the message
LOST = {"DELIVERY_RETRY_DELAYS_SECONDS": [0.2] * 10, "SMS_GATEWAY_TIMEOUT_SECONDS": 1}


def send_one(notify) -> None:
    notify.contact_event(RESIDENT, PHONE)
    notify.publish("subsidy_approved", approved(RESIDENT))


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
def test_a_lost_answer_the_vendor_took_is_found_in_its_records_and_not_sent_again(start_notify, token_for, provider):
    notify = start_notify(**vendor_config(provider, **LOST))
    token = token_for("caseworker-1", "caseworker")
    notify.post_gateway("/test/fault", {"mode": "lose", "calls": 1, "provider": provider})
    send_one(notify)
    row = rows_when(notify, token, all_final, resident_id=RESIDENT)[0]
    assert row["status"] == "delivered" and row["provider"] == provider and row["attempts"] == 2
    assert len(notify.gateway_messages(PHONE)) == 1  # taken once, found, never sent again
    assert notify.gateway_stats()[f"{provider}_queries"] >= 1


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
def test_a_lost_answer_the_vendor_never_took_is_sent_once_after_asking(start_notify, token_for, provider):
    # the call hangs past notify's timeout and is dropped: nothing was taken. Tencent's records show a message
    # only once its status is reported, so its absence counts only after the settle time (here: at once)
    notify = start_notify(**vendor_config(provider, TENCENT_LOST_ANSWER_SETTLE_SECONDS=0, **LOST))
    token = token_for("caseworker-1", "caseworker")
    notify.post_gateway("/test/fault", {"mode": "hang", "seconds": 3, "calls": 1, "provider": provider})
    send_one(notify)
    row = rows_when(notify, token, all_final, resident_id=RESIDENT)[0]
    assert row["status"] == "delivered" and row["attempts"] == 2
    [sent] = notify.gateway_messages(PHONE)
    assert sent["out_id"] == f"{row['id']}.1"  # resent under the same out_id
    assert notify.gateway_stats()[f"{provider}_queries"] >= 1


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
def test_a_lost_answer_stays_held_while_the_vendors_records_cannot_be_read(start_notify, token_for, provider):
    notify = start_notify(**vendor_config(provider, **LOST))
    token = token_for("caseworker-1", "caseworker")
    notify.post_gateway("/test/fault", {"mode": "lose", "calls": 1, "provider": provider})
    notify.post_gateway("/test/fault", {"mode": "fail", "seconds": 3600, "provider": provider, "on": "query"})
    send_one(notify)
    wait_for(lambda: notify.gateway_stats().get(f"{provider}_query_faults", 0) >= 2)
    with notify.rpc(token) as rpc:
        [row] = rpc.list_notifications(resident_id=RESIDENT)
    assert row["status"] == "technical-failure" and row["retry_at"] is not None  # held, to be asked again
    assert len(notify.gateway_messages(PHONE)) == 1  # the query failing never means a second SMS
    held_call, held_at = held_with(notify, row["id"])
    assert held_call == f"{row['id']}.1"  # the lost call's client id: one message's call, our out_id
    assert abs((datetime.now(UTC) - held_at).total_seconds()) < 60  # when it was made, in UTC on both databases
    notify.post_gateway("/test/fault", {"mode": "ok", "provider": provider, "on": "query"})
    row = rows_when(notify, token, all_final, resident_id=RESIDENT)[0]
    assert row["status"] == "delivered" and len(notify.gateway_messages(PHONE)) == 1


def held_with(notify, notification_id: str) -> tuple[str, datetime]:
    engine = make_engine(notify.config["DATABASE_URL"])
    with engine.connect() as connection:
        row = connection.execute(
            select(Notification.held_call, Notification.held_at).where(Notification.id == notification_id)
        ).one()
    engine.dispose()
    return row.held_call, row.held_at if row.held_at.tzinfo else row.held_at.replace(tzinfo=UTC)


def test_status_transitions_are_counted_by_channel_provider_and_status(start_notify, token_for):
    notify = start_notify(**vendor_config("tencent"))
    token = token_for("caseworker-1", "caseworker")
    notify.contact_event(RESIDENT, PHONE)
    notify.publish("subsidy_approved", approved(RESIDENT))
    rows_when(notify, token, all_final, resident_id=RESIDENT)
    metrics = requests.get(f"{notify.base_url}/metrics", timeout=10).text
    for status in ("created", "sending", "delivered"):
        provider = "none" if status == "created" else "tencent"
        sample = (
            f'newcitizen_notifications_total{{channel="sms",provider="{provider}",service="notify",status="{status}"}}'
        )
        assert sample in metrics, status
    assert 'newcitizen_notify_sms_segments_total{provider="tencent"}' in metrics
    assert PHONE not in metrics


@pytest.mark.parametrize(("first", "second"), [("aliyun", "tencent"), ("tencent", "aliyun")])
def test_an_account_without_balance_is_counted_by_kind_and_traffic_fails_over(start_notify, token_for, first, second):
    notify = start_notify(**vendor_config(first, second, SMS_FAILOVER_MIN_RESULTS=1, SMS_FAILOVER_COOLDOWN_SECONDS=600))
    token = token_for("caseworker-1", "caseworker")
    # the counters are the process's (other tests' services counted too): compare with what was there before
    before = account_refusals(requests.get(f"{notify.base_url}/metrics", timeout=10).text)
    notify.post_gateway("/test/fault", {"mode": "balance", "calls": 1000, "provider": first})
    notify.contact_event(RESIDENT, PHONE)
    notify.publish("subsidy_approved", approved(RESIDENT))

    row = rows_when(notify, token, all_final, resident_id=RESIDENT)[0]
    assert row["status"] == "delivered" and row["provider"] == second
    assert [m["provider"] for m in notify.gateway_messages(PHONE)] == [second]
    after = account_refusals(requests.get(f"{notify.base_url}/metrics", timeout=10).text)
    # every kind of both providers is exported from the start, before any refusal: what increase() needs
    assert set(before) == {(p, kind) for p in (first, second) for kind in metrics.ACCOUNT_KINDS}
    assert after[(first, "balance")] - before[(first, "balance")] >= 1
    assert {key: after[key] - before[key] for key in before if key != (first, "balance")} == dict.fromkeys(
        set(before) - {(first, "balance")}, 0
    )


def account_refusals(metrics: str) -> dict:
    return {
        (sample.labels["provider"], sample.labels["kind"]): sample.value
        for family in text_string_to_metric_families(metrics)
        if family.name == "newcitizen_notify_sms_account_refusals"
        for sample in family.samples
        if sample.name.endswith("_total")
    }


PROMTOOL = shutil.which("promtool")
RULES = Path(__file__).resolve().parents[3] / "deploy" / "prometheus" / "alerts.yml"
ALERTED = ("newcitizen_notifications_total", "newcitizen_notify_sms_account_refusals_total")


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (make tools: apt-get install prometheus)")
def test_the_alerts_fire_on_what_notify_exports_while_its_only_provider_refuses_our_account(
    start_notify, token_for, tmp_path
):
    """The rules read the metric names and labels notify really exports: promtool evaluates them on series
    that repeat, minute after minute, what one scrape-to-scrape interval of a failing provider showed."""
    notify = start_notify(**vendor_config("aliyun"))
    token = token_for("caseworker-1", "caseworker")
    before = scrape(notify)
    notify.post_gateway("/test/fault", {"mode": "balance", "calls": 1000, "provider": "aliyun"})
    residents = [f"r_{i:032d}" for i in range(3)]
    for i, resident in enumerate(residents):
        notify.contact_event(resident, f"1370000000{i}")
        notify.publish("subsidy_approved", {**approved(resident), "application_id": f"app-{i}"})
    for resident in residents:
        rows_when(notify, token, lambda rows: rows[0]["status"] == "technical-failure", resident_id=resident)
    after = scrape(notify)

    series = [
        {"series": name, "values": f"{before.get(name, 0):g}+{value - before.get(name, 0):g}x30"}
        for name, value in after.items()
    ]
    rules = yaml.safe_load(RULES.read_text())
    annotations = {rule["alert"]: rule["annotations"] for group in rules["groups"] for rule in group["rules"]}
    failure = annotations["NewcitizenSmsFailureRate"]
    account = annotations["NewcitizenSmsProviderAccountProblem"]
    expected = {
        "NewcitizenSmsFailureRate": {
            "exp_labels": {"severity": "page"},
            "exp_annotations": {**failure, "summary": "100% of SMS end in failure"},
        },
        "NewcitizenSmsProviderAccountProblem": {
            "exp_labels": {"severity": "page", "provider": "aliyun", "kind": "balance"},
            "exp_annotations": {**account, "summary": "aliyun refuses SMS for our account: balance"},
        },
    }
    suite = {
        "rule_files": [str(RULES)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {"eval_time": "30m", "alertname": name, "exp_alerts": [alert]} for name, alert in expected.items()
                ],
            }
        ],
    }
    (tmp_path / "scraped.test.yml").write_text(yaml.safe_dump(suite, allow_unicode=True))
    tested = subprocess.run([PROMTOOL, "test", "rules", "scraped.test.yml"], cwd=tmp_path, capture_output=True,
                            text=True)  # fmt: skip
    assert tested.returncode == 0, tested.stdout + tested.stderr


def scrape(notify) -> dict[str, float]:
    """The alerted counters as Prometheus would store them: `name{labels}` -> value."""
    text = requests.get(f"{notify.base_url}/metrics", timeout=10).text
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in ALERTED:
                labels = ", ".join(f'{key}="{value}"' for key, value in sorted(sample.labels.items()))
                values[f"{sample.name}{{{labels}}}"] = sample.value
    return values
