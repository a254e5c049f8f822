"""The fake gateway speaks Alibaba Cloud's and Tencent Cloud's SMS protocols well enough for their official
SDKs: the SDKs sign, the fake checks the signature with the configured secret, refuses a request signed with
another secret the way the vendor does, and answers in the vendor's shapes."""

import time
from collections import Counter
from dataclasses import replace
from datetime import datetime

import pytest
import requests
from alibabacloud_dysmsapi20170525 import models as dysms
from alibabacloud_dysmsapi20170525.client import Client as AliyunClient
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.utils_models import Config
from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models as tencent_models
from tencentcloud.sms.v20210111.sms_client import SmsClient

from services.notify import statuses
from services.notify.fake_gateway import NO_RECEIPT_NUMBER
from services.notify.fake_providers.aliyun import BEIJING
from services.notify.providers.aliyun import AliyunSms
from services.notify.providers.base import Outgoing
from services.notify.providers.tencent import TencentSms
from tests.support.waiting import wait_for

ALIYUN_KEY = ("dev-aliyun-key-id", "dev-aliyun-key-secret")
TENCENT_KEY = ("dev-tencent-secret-id", "dev-tencent-secret-key")
SPECS = {
    "aliyun": {"code": "SMS_900000001", "variables": ["amount"], "allow_links": False},
    "tencent": {"code": "900001", "variables": ["amount"], "allow_links": False},
}


def aliyun_client(url: str, secret: str = ALIYUN_KEY[1]) -> AliyunClient:
    host = url.removeprefix("http://")
    return AliyunClient(Config(access_key_id=ALIYUN_KEY[0], access_key_secret=secret, protocol="http", endpoint=host))


def tencent_client(url: str, secret: str = TENCENT_KEY[1]) -> SmsClient:
    profile = ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=url.removeprefix("http://")))
    return SmsClient(Credential(TENCENT_KEY[0], secret), "ap-guangzhou", profile)


def message(i: int, amount: str = "840", mobile: str | None = None) -> Outgoing:
    return Outgoing(
        out_id=f"n{i}.1",
        recipient=mobile or f"137{i:08d}",
        body=f"【慈溪新市民】每月补贴{amount}元",
        template_id="subsidy_approved",
        personalisation={"amount": amount},
        provider_templates=SPECS,
    )


def test_the_aliyun_sdk_is_answered_and_a_wrong_secret_refused(fake_gateway):
    url = fake_gateway("http://127.0.0.1:9")
    request = dysms.SendSmsRequest(
        phone_numbers="13700000001", sign_name="慈溪新市民", template_code="SMS_900000001",
        template_param='{"amount":"840"}', out_id="n1.1",
    )  # fmt: skip
    body = aliyun_client(url).send_sms(request).body
    assert body.code == "OK" and body.biz_id and body.request_id
    with pytest.raises(ClientException) as refused:
        aliyun_client(url, secret="not-the-secret").send_sms(request)
    assert refused.value.code == "SignatureDoesNotMatch" and refused.value.status_code == 400
    sent = requests.get(f"{url}/test/messages", timeout=5).json()
    assert [(m["mobile"], m["out_id"], m["provider"]) for m in sent] == [("13700000001", "n1.1", "aliyun")]


def test_the_tencent_sdk_is_answered_and_a_wrong_secret_refused(fake_gateway):
    url = fake_gateway("http://127.0.0.1:9")
    request = tencent_models.SendSmsRequest()
    request.PhoneNumberSet = ["+8613700000001", "+8613700000002"]
    request.SmsSdkAppId, request.SignName, request.TemplateId = "1400000000", "慈溪新市民", "900001"
    request.TemplateParamSet, request.SessionContext = ["840"], "call-1"
    response = tencent_client(url).SendSms(request)
    assert [s.Code for s in response.SendStatusSet] == ["Ok", "Ok"]
    assert len({s.SerialNo for s in response.SendStatusSet}) == 2
    with pytest.raises(TencentCloudSDKException) as refused:
        tencent_client(url, secret="not-the-secret").SendSms(request)
    assert refused.value.code == "AuthFailure.SignatureFailure"
    assert len(requests.get(f"{url}/test/messages", timeout=5).json()) == 2


@pytest.mark.parametrize("adapter", ["aliyun", "tencent"])
def test_adapters_map_the_vendors_answers_onto_our_statuses(fake_gateway, adapter):
    url = fake_gateway("http://127.0.0.1:9")
    if adapter == "aliyun":
        provider = AliyunSms(*ALIYUN_KEY, "慈溪新市民", url)
        wrong = AliyunSms(ALIYUN_KEY[0], "not-the-secret", "慈溪新市民", url)
    else:
        provider = TencentSms(*TENCENT_KEY, "1400000000", "慈溪新市民", url)
        wrong = TencentSms(TENCENT_KEY[0], "not-the-secret", "1400000000", "慈溪新市民", url)
    batch = [message(1), message(2), message(3, mobile="1234"), message(4, amount="x" * 40)]
    one, two, bad_number, too_long = provider.send(batch)
    assert one.accepted and two.accepted and one.provider_ref != two.provider_ref
    assert bad_number.status == statuses.PERMANENT_FAILURE and bad_number.finished
    assert too_long.status == statuses.PERMANENT_FAILURE and "longer than" in too_long.reason
    assert "x" * 40 not in too_long.reason  # the value itself is never echoed
    refused = wrong.send([message(5)])[0]
    assert refused.status == statuses.TECHNICAL_FAILURE and refused.finished  # refused: nothing was sent
    requests.post(f"{url}/test/fault", json={"mode": "fail", "calls": 1, "provider": adapter}, timeout=5)
    busy = provider.send([message(6)])[0]  # the vendor answered that it failed: nothing was taken
    assert busy.status == statuses.TECHNICAL_FAILURE and busy.finished
    requests.post(f"{url}/test/fault", json={"mode": "lose", "calls": 1, "provider": adapter}, timeout=5)
    lost = provider.send([message(7)])[0]  # taken, but the answer never came: the outcome is unknown
    assert lost.status == statuses.TECHNICAL_FAILURE and not lost.finished
    sent = requests.get(f"{url}/test/messages", timeout=5).json()
    assert sorted(m["mobile"] for m in sent) == ["13700000001", "13700000002", "13700000007"]
    assert sent[0]["out_id"].startswith("call-") and sent[-1]["out_id"] == "n7.1"  # a call's token; one message
    assert {m["provider"] for m in sent} == {adapter}


@pytest.mark.parametrize(("adapter", "calls"), [("aliyun", [100, 100, 50]), ("tencent", [200, 50])])
def test_adapters_send_250_numbers_in_the_vendors_largest_calls_each_number_once(fake_gateway, adapter, calls):
    url = fake_gateway("http://127.0.0.1:9")
    if adapter == "aliyun":
        provider = AliyunSms(*ALIYUN_KEY, "慈溪新市民", url)
    else:
        provider = TencentSms(*TENCENT_KEY, "1400000000", "慈溪新市民", url)
    answers = provider.send([message(i) for i in range(250)])
    assert all(answer.accepted for answer in answers)
    stats = requests.get(f"{url}/test/stats", timeout=5).json()
    assert stats[f"{adapter}_calls"] == len(calls)
    sent = requests.get(f"{url}/test/messages", timeout=5).json()
    # a call of several carries one token, which each of its messages echoes
    assert sorted(Counter(m["out_id"] for m in sent).values(), reverse=True) == calls
    assert sorted(m["mobile"] for m in sent) == sorted(f"137{i:08d}" for i in range(250))


def test_the_aliyun_sdk_queries_send_details_signed_and_paged(fake_gateway):
    """QuerySendDetails through the SDK: the record is there from the moment the message is taken (waiting for
    its receipt), then delivered; another day or number has none; a wrong secret is refused."""
    url = fake_gateway("http://127.0.0.1:9")
    send = dysms.SendSmsRequest(
        phone_numbers="13700000001", sign_name="慈溪新市民", template_code="SMS_900000001",
        template_param='{"amount":"840"}', out_id="n1.1",
    )  # fmt: skip
    # the fake keeps its records on its own clock, as the vendor does (no platform clock reaches a vendor): the
    # record's day is the day before or after the send, which differ only when the send straddles midnight
    days = {datetime.now(BEIJING).strftime("%Y%m%d")}
    biz_id = aliyun_client(url).send_sms(send).body.biz_id
    days.add(datetime.now(BEIJING).strftime("%Y%m%d"))

    def query(phone="13700000001", date=None, **extra):
        request = dysms.QuerySendDetailsRequest(
            phone_number=phone, send_date=date or today, page_size=50, current_page=1, **extra
        )
        return aliyun_client(url).query_send_details(request).body

    [today] = [day for day in sorted(days) if query(date=day).total_count]

    body = query()
    assert body.code == "OK" and body.total_count == 1
    [record] = body.sms_send_detail_dtos.sms_send_detail_dto
    assert (record.out_id, record.phone_num, record.template_code) == ("n1.1", "13700000001", "SMS_900000001")
    assert record.send_status in (1, 3)  # waiting for its receipt, or delivered already
    delivered = wait_for(lambda: query().sms_send_detail_dtos.sms_send_detail_dto[0].send_status == 3 or None)
    assert delivered and query(biz_id=biz_id).total_count == 1 and query(biz_id="other^0").total_count == 0
    assert query(phone="13700000002").total_count == 0 and query(date="20000101").total_count == 0
    with pytest.raises(ClientException) as refused:
        aliyun_client(url, secret="not-the-secret").query_send_details(
            dysms.QuerySendDetailsRequest(phone_number="13700000001", send_date=today, page_size=50, current_page=1)
        )
    assert refused.value.code == "SignatureDoesNotMatch"


def test_the_tencent_sdk_pulls_statuses_once_reported(fake_gateway):
    url = fake_gateway("http://127.0.0.1:9", receipt_delay=0.3)
    request = tencent_models.SendSmsRequest()
    request.PhoneNumberSet = ["+8613700000001", f"+86{NO_RECEIPT_NUMBER}"]
    request.SmsSdkAppId, request.SignName, request.TemplateId = "1400000000", "慈溪新市民", "900001"
    request.TemplateParamSet, request.SessionContext = ["840"], "call-1"
    sent = tencent_client(url).SendSms(request)
    serial = sent.SendStatusSet[0].SerialNo

    def by_number(number: str):
        pull = tencent_models.PullSmsSendStatusByPhoneNumberRequest()
        pull.BeginTime, pull.EndTime = int(time.time()) - 60, int(time.time()) + 60
        pull.Offset, pull.Limit, pull.PhoneNumber, pull.SmsSdkAppId = 0, 100, number, "1400000000"
        return tencent_client(url).PullSmsSendStatusByPhoneNumber(pull).PullSmsSendStatusSet

    assert by_number("+8613700000001") == []  # no status before the operator reports
    [status] = wait_for(lambda: by_number("+8613700000001") or None)
    assert (status.SerialNo, status.SessionContext, status.ReportStatus) == (serial, "call-1", "SUCCESS")
    assert status.Description == "DELIVRD" and status.SubscriberNumber == "13700000001"
    assert by_number(f"+86{NO_RECEIPT_NUMBER}") == []  # never reported: never a status
    pull = tencent_models.PullSmsSendStatusRequest()
    pull.Limit, pull.SmsSdkAppId = 100, "1400000000"
    assert [s.SerialNo for s in tencent_client(url).PullSmsSendStatus(pull).PullSmsSendStatusSet] == [serial]
    assert tencent_client(url).PullSmsSendStatus(pull).PullSmsSendStatusSet == []  # each status once
    with pytest.raises(TencentCloudSDKException) as refused:
        tencent_client(url, secret="not-the-secret").PullSmsSendStatus(pull)
    assert refused.value.code == "AuthFailure.SignatureFailure"


@pytest.mark.parametrize("adapter", ["aliyun", "tencent"])
def test_adapters_ask_the_vendor_after_a_lost_answer(fake_gateway, adapter):
    """Taken with the answer lost: found, accepted with the vendor's id, not sent again. Not taken (the call
    hung, nothing sent): sent now. The query failing: still held, nothing sent."""
    url = fake_gateway("http://127.0.0.1:9")
    if adapter == "aliyun":
        provider = AliyunSms(*ALIYUN_KEY, "慈溪新市民", url, timeout=1)
    else:
        provider = TencentSms(*TENCENT_KEY, "1400000000", "慈溪新市民", url, timeout=1, lost_answer_settle=1)
    fault = lambda **body: requests.post(f"{url}/test/fault", json={"provider": adapter, **body}, timeout=5)  # noqa: E731

    fault(mode="lose", calls=1)
    lost = provider.send([message(1)])[0]
    assert lost.status == statuses.TECHNICAL_FAILURE and not lost.finished and lost.held_call == "n1.1"
    retry = replace(message(1), held_by=adapter, held_call=lost.held_call, held_at=lost.held_at)
    found = wait_for(lambda: (a := provider.send([retry])[0]).accepted and a.receipt and a or None)
    assert found.provider_ref and found.receipt in ("DELIVERED", "DELIVRD")

    fault(mode="hang", calls=1, seconds=3)
    hung = provider.send([message(2)])[0]
    assert hung.status == statuses.TECHNICAL_FAILURE and not hung.finished
    fault(mode="fail", calls=1, on="query")
    retry = replace(message(2), held_by=adapter, held_call=hung.held_call, held_at=hung.held_at)
    held = provider.send([retry])[0]
    assert held.status == statuses.TECHNICAL_FAILURE and not held.finished and held.held_call == hung.held_call
    resent = provider.send([retry])[0]  # the vendor has no record of it: sent now, once
    assert resent.accepted and resent.receipt is None
    sent = requests.get(f"{url}/test/messages", timeout=5).json()
    assert sorted(m["mobile"] for m in sent) == ["13700000001", "13700000002"]


def test_tencent_waits_for_a_status_before_it_counts_a_lost_call_as_never_taken(fake_gateway):
    """Tencent keeps a status only once the operator reports one: a lost call to a number that has not
    reported is asked about again later (not an attempt, not a failure), and never resent before the settle
    time."""
    url = fake_gateway("http://127.0.0.1:9")
    provider = TencentSms(*TENCENT_KEY, "1400000000", "慈溪新市民", url, lost_answer_settle=600)
    requests.post(f"{url}/test/fault", json={"mode": "lose", "calls": 1, "provider": "tencent"}, timeout=5)
    lost = provider.send([message(1, mobile=NO_RECEIPT_NUMBER)])[0]
    retry = replace(message(1, mobile=NO_RECEIPT_NUMBER), held_by="tencent", held_call=lost.held_call,
                    held_at=lost.held_at)  # fmt: skip
    waiting = provider.send([retry])[0]
    assert waiting.retry_after is not None and 1 <= waiting.retry_after <= 60 and not waiting.accepted
    assert len(requests.get(f"{url}/test/messages", timeout=5).json()) == 1  # the lost one only
