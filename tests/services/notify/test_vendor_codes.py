"""The vendors' documented refusal codes, answered by the fake in each vendor's shape (Alibaba's `Code`,
Tencent's `Response.Error`) through the official SDK, land on the status and account kind we mean: a message
the vendor can never send is a permanent failure, our own account's trouble is a technical failure (traffic
fails over) counted by kind. The lists are the vendors' own (docs/services/notify.md, "Response codes")."""

import pytest
import requests

from services.notify import metrics, statuses
from services.notify.providers.aliyun import AliyunSms
from services.notify.providers.tencent import TencentSms
from tests.services.notify.test_vendor_fakes import ALIYUN_KEY, TENCENT_KEY, message
from tests.support.metrics import sample_value

PERMANENT, TECHNICAL = statuses.PERMANENT_FAILURE, statuses.TECHNICAL_FAILURE
CODES = {
    "aliyun": [
        ("isv.SMS_SIGNATURE_SCENE_ILLEGAL", PERMANENT, None),
        ("isv.SIGN_STATE_ILLEGAL", PERMANENT, None),
        ("isv.SMS_SIGN_ILLEGAL", PERMANENT, None),
        ("isv.EXTEND_CODE_ERROR", PERMANENT, None),
        ("isv.DOMESTIC_NUMBER_NOT_SUPPORTED", PERMANENT, None),
        ("isv.MONTH_LIMIT_CONTROL", TECHNICAL, "limit"),
        ("isv.PRODUCT_UN_SUBSCRIPT", TECHNICAL, "suspended"),
        ("isv.PRODUCT_UNSUBSCRIBE", TECHNICAL, "suspended"),
        ("isv.DENY_IP_RANGE", TECHNICAL, "credentials"),
        ("isv.DAY_LIMIT_CONTROL", TECHNICAL, "limit"),
        ("isv.MOBILE_NUMBER_ILLEGAL", PERMANENT, None),
    ],
    "tencent": [
        ("InvalidParameter.DirtyWordFound", PERMANENT, None),
        ("FailedOperation.TemplateParamSetNotMatchApprovedTemplate", PERMANENT, None),
        ("FailedOperation.TemplateUnapprovedOrNotExist", PERMANENT, None),
        ("UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber", PERMANENT, None),
        ("UnsupportedOperation.UnsupportedRegion", PERMANENT, None),
        ("UnauthorizedOperation.IndividualUserMarketingSmsPermissionDeny", PERMANENT, None),
        ("UnauthorizedOperation.SdkAppIdIsDisabled", TECHNICAL, "suspended"),
        ("InvalidParameterValue.SdkAppIdNotExist", TECHNICAL, "credentials"),
        ("InvalidParameter.AppidAndBizId", TECHNICAL, "credentials"),
        ("UnauthorizedOperation.RequestIpNotInWhitelist", TECHNICAL, "credentials"),
        ("UnauthorizedOperation.RequestPermissionDeny", TECHNICAL, "credentials"),
        ("InternalError.RequestTimeException", TECHNICAL, "credentials"),
        ("FailedOperation.FailResolvePacket", TECHNICAL, None),
        ("LimitExceeded.PhoneNumberCountLimit", TECHNICAL, None),
        ("InternalError.SendAndRecvFail", TECHNICAL, None),
        ("FailedOperation.InsufficientBalanceInSmsPackage", TECHNICAL, "balance"),
    ],
}


def refusals(provider: str) -> dict[str, float]:
    return {
        kind: sample_value(metrics.ACCOUNT_REFUSALS, provider=provider, kind=kind) for kind in metrics.ACCOUNT_KINDS
    }


@pytest.mark.parametrize("adapter", ["aliyun", "tencent"])
def test_the_vendors_documented_codes_map_onto_our_statuses_and_account_kinds(fake_gateway, adapter):
    url = fake_gateway("http://127.0.0.1:9")
    if adapter == "aliyun":
        provider = AliyunSms(*ALIYUN_KEY, "慈溪新市民", url)
    else:
        provider = TencentSms(*TENCENT_KEY, "1400000000", "慈溪新市民", url)
    for i, (code, status, kind) in enumerate(CODES[adapter]):
        fault = {"mode": "refuse", "code": code, "calls": 1, "provider": adapter}
        assert requests.post(f"{url}/test/fault", json=fault, timeout=5).json() == {"ok": True}
        before = refusals(adapter)
        [answer] = provider.send([message(i)])
        assert (answer.status, answer.finished) == (status, True), code
        assert code in answer.reason
        counted = {k: refusals(adapter)[k] - before[k] for k in metrics.ACCOUNT_KINDS}
        assert counted == {k: int(k == kind) for k in metrics.ACCOUNT_KINDS}, code
    assert requests.get(f"{url}/test/messages", timeout=5).json() == []  # refused: nothing was sent
