"""Tencent Cloud SMS (腾讯云短信, sms 2021-01-11) through its official SDK.

`SendSms` takes up to 200 numbers (+86…) for one template (`TemplateId`) and one ordered `TemplateParamSet`,
with `SmsSdkAppId`, `SignName` and `SessionContext` (our out_id; a token when a call carries several
messages). Each number gets a `SendStatus` with its own `SerialNo`, which receipts name as `sid`. The SDK
signs each request (TC3-HMAC-SHA256) with the SecretKey.

Tencent does not de-duplicate on SessionContext, so before a retry after a lost answer (which stays with this
provider, `Outgoing.held_by`) `PullSmsSendStatusByPhoneNumber` is asked for a status with the lost call's
SessionContext. Tencent keeps a status only once the operator has reported one, so no status says "not
taken" only after `lost_answer_settle` seconds; see docs/services/notify.md.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from urllib.parse import urlparse

from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models
from tencentcloud.sms.v20210111.sms_client import SmsClient

from services.notify import provider_templates
from services.notify.providers.base import Outgoing, Submission, is_our_out_id
from services.notify.providers.vendor import PERMANENT, TECHNICAL, TEMPORARY, TemplateCodeProvider

DEFAULT_ENDPOINT = "https://sms.tencentcloudapi.com"
REGION = "ap-guangzhou"
COUNTRY_CODE = "+86"
PULL_LIMIT = 100  # PullSmsSendStatusByPhoneNumber's largest Limit
SETTLE_POLL_SECONDS = 60.0  # how often a lost call with no status yet is asked about again


class TencentSms(TemplateCodeProvider):
    name = provider_templates.TENCENT
    batch_size = 200  # SendSms' PhoneNumberSet
    SUBMIT_CODES = {
        "InvalidParameterValue.IncorrectPhoneNumber": PERMANENT,
        "FailedOperation.PhoneNumberInBlacklist": PERMANENT,
        "FailedOperation.PhoneNumberParseFail": PERMANENT,
        "InvalidParameterValue.TemplateParameterFormatError": PERMANENT,
        "InvalidParameterValue.TemplateParameterLengthLimit": PERMANENT,
        "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter": PERMANENT,
        "InvalidParameterValue.ContentLengthLimit": PERMANENT,
        "FailedOperation.TemplateIncorrectOrUnapproved": PERMANENT,
        "FailedOperation.SignatureIncorrectOrUnapproved": PERMANENT,
        "FailedOperation.ContainSensitiveWord": PERMANENT,
        "InvalidParameter.DirtyWordFound": PERMANENT,
        "FailedOperation.TemplateParamSetNotMatchApprovedTemplate": PERMANENT,
        "FailedOperation.TemplateUnapprovedOrNotExist": PERMANENT,
        "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber": PERMANENT,
        "UnsupportedOperation.UnsupportedRegion": PERMANENT,
        "UnsupportedOperation.ChineseMainlandTemplateToGlobalPhone": PERMANENT,
        "UnsupportedOperation.GlobalTemplateToChineseMainlandPhone": PERMANENT,
        "UnauthorizedOperation.IndividualUserMarketingSmsPermissionDeny": PERMANENT,  # promotional, never for us
        "LimitExceeded.PhoneNumberDailyLimit": TEMPORARY,  # this number's limits
        "LimitExceeded.PhoneNumberOneHourLimit": TEMPORARY,
        "LimitExceeded.PhoneNumberThirtySecondLimit": TEMPORARY,
        "LimitExceeded.PhoneNumberSameContentDailyLimit": TEMPORARY,
        "FailedOperation.MarketingSendTimeConstraint": TEMPORARY,
        # our account cannot send: not the message's fault, and the other provider may well take it
        "FailedOperation.InsufficientBalanceInSmsPackage": TECHNICAL,
        "LimitExceeded.AppDailyLimit": TECHNICAL,
        "LimitExceeded.AppMainlandChinaDailyLimit": TECHNICAL,
        "UnauthorizedOperation.ServiceSuspendDueToArrears": TECHNICAL,
        "UnauthorizedOperation.SmsSdkAppIdVerifyFail": TECHNICAL,
        "UnauthorizedOperation.SdkAppIdIsDisabled": TECHNICAL,
        "InvalidParameterValue.SdkAppIdNotExist": TECHNICAL,
        "InvalidParameter.AppidAndBizId": TECHNICAL,
        "UnauthorizedOperation.RequestIpNotInWhitelist": TECHNICAL,
        "UnauthorizedOperation.RequestPermissionDeny": TECHNICAL,
        "AuthFailure.SignatureFailure": TECHNICAL,
        "AuthFailure.SignatureExpire": TECHNICAL,
        "AuthFailure.SecretIdNotFound": TECHNICAL,
        # our request was malformed (a bug here): not the message's fault either
        "FailedOperation.FailResolvePacket": TECHNICAL,
        "FailedOperation.JsonParseFail": TECHNICAL,
        "LimitExceeded.PhoneNumberCountLimit": TECHNICAL,
        "MissingParameter.EmptyPhoneNumberSet": TECHNICAL,
        "InternalError": TECHNICAL,  # and every InternalError.* (TECHNICAL_PREFIXES)
        "InternalError.Timeout": TECHNICAL,
    }
    ACCOUNT_CODES = {
        "FailedOperation.InsufficientBalanceInSmsPackage": "balance",
        "LimitExceeded.AppDailyLimit": "limit",
        "LimitExceeded.AppMainlandChinaDailyLimit": "limit",
        "UnauthorizedOperation.ServiceSuspendDueToArrears": "suspended",
        "UnauthorizedOperation.SmsSdkAppIdVerifyFail": "credentials",
        "UnauthorizedOperation.SdkAppIdIsDisabled": "suspended",
        "InvalidParameterValue.SdkAppIdNotExist": "credentials",
        "InvalidParameter.AppidAndBizId": "credentials",
        "UnauthorizedOperation.RequestIpNotInWhitelist": "credentials",
        "UnauthorizedOperation.RequestPermissionDeny": "credentials",
        "AuthFailure.SignatureFailure": "credentials",
        "AuthFailure.SignatureExpire": "credentials",  # our clock is off by more than five minutes
        "AuthFailure.SecretIdNotFound": "credentials",
        "InternalError.RequestTimeException": "credentials",  # our clock is off (the SDK signs with it)
    }
    THROTTLED_CODES = frozenset({"RequestLimitExceeded", "LimitExceeded.DeliveryFrequencyLimit"})
    DELIVERED_RECEIPTS = frozenset({"DELIVRD"})
    PERMANENT_RECEIPTS = frozenset({"MN:0001", "MK:0001", "MI:0013", "IB:0008", "BLACK"})
    # the SDK's own codes for a call that got no API answer (unreachable, timed out, HTTP error, not JSON)
    UNANSWERED_CODES = frozenset(
        {"ClientNetworkError", "ServerNetworkError", "JSONDecodeError", "ValueError", "KeyError", "TypeError", ""}
    )

    def __init__(self, secret_id: str, secret_key: str, sdk_app_id: str, sign_name: str,
                 endpoint: str = DEFAULT_ENDPOINT, timeout: float = 10, lost_answer_settle: float = 600):  # fmt: skip
        url = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}")
        self.lost_answer_settle = lost_answer_settle
        self.sdk_app_id = sdk_app_id
        self.sign_name = sign_name
        http = HttpProfile(protocol=url.scheme, endpoint=url.netloc, reqTimeout=max(1, round(timeout)))
        self.client = SmsClient(Credential(secret_id, secret_key), REGION, ClientProfile(httpProfile=http))

    def call_key(self, message: Outgoing):
        # one TemplateParamSet a call: only messages with the same parameters (a broadcast) share one
        spec = message.provider_templates[self.name]
        return spec["code"], tuple(provider_templates.ordered_parameters(spec, message.personalisation))

    def send_call(self, call: list[Outgoing]) -> list[Submission]:
        spec = call[0].provider_templates[self.name]
        request = models.SendSmsRequest()
        request.PhoneNumberSet = [COUNTRY_CODE + m.recipient for m in call]
        request.SmsSdkAppId = self.sdk_app_id
        request.SignName = self.sign_name
        request.TemplateId = spec["code"]
        request.TemplateParamSet = provider_templates.ordered_parameters(spec, call[0].personalisation)
        request.SessionContext = client_id = self.client_id(call)
        called_at = datetime.now(UTC)
        try:
            response = self.client.SendSms(request)
        except TencentCloudSDKException as exc:
            code = str(exc.code or "")
            if code in self.THROTTLED_CODES or code.startswith("RequestLimitExceeded"):
                return [Submission(m.out_id, retry_after=1.0, reason=f"tencent {code}") for m in call]
            if code in self.UNANSWERED_CODES:  # no answer from the API: it may have taken them
                return self.lost(call, f"tencent {code}", client_id, called_at)
            # the API answered with an error (Response.Error): nothing was sent
            return [self.refusal(m.out_id, code, "refused the call") for m in call]
        except Exception as exc:
            return self.lost(call, f"tencent unreachable: {type(exc).__name__}", client_id, called_at)
        by_number = {status.PhoneNumber: status for status in (response.SendStatusSet or [])}
        results = []
        for message in call:
            status = by_number.get(COUNTRY_CODE + message.recipient)
            if status is None:
                results += self.lost([message], "missing from tencent's answer", client_id, called_at)
            elif status.Code == "Ok":
                results.append(Submission(message.out_id, accepted=True, provider_ref=str(status.SerialNo)[:64]))
            else:
                results.append(self.refusal(message.out_id, str(status.Code), status.Message))
        return results

    def look_up(self, message: Outgoing) -> Submission | None:
        at = self.called_at(message)
        request = models.PullSmsSendStatusByPhoneNumberRequest()
        request.BeginTime = int(at.timestamp()) - 60  # the vendor's clock may be a little behind ours
        request.EndTime = int(time.time()) + 60
        request.Offset, request.Limit = 0, PULL_LIMIT
        request.PhoneNumber = COUNTRY_CODE + message.recipient
        request.SmsSdkAppId = self.sdk_app_id
        try:
            found = self.client.PullSmsSendStatusByPhoneNumber(request).PullSmsSendStatusSet or []
        except Exception as exc:  # refused, throttled, unreachable: the records cannot tell now
            return self.still_held(
                message,
                f"tencent PullSmsSendStatusByPhoneNumber failed: {getattr(exc, 'code', None) or type(exc).__name__}",
            )
        for status in found:
            if status.SessionContext == message.held_call:
                code = status.Description or ("DELIVRD" if status.ReportStatus == "SUCCESS" else "FAIL")
                receipt = "DELIVRD" if status.ReportStatus == "SUCCESS" else code
                return Submission(
                    message.out_id, accepted=True, provider_ref=str(status.SerialNo)[:64], receipt=receipt
                )
        if len(found) >= PULL_LIMIT:
            return self.still_held(message, "tencent: too many statuses to tell")
        waited = time.time() - at.timestamp()
        if waited < self.lost_answer_settle:
            # a status comes only once the operator reports one: its absence says little yet. Ask again soon,
            # not as an attempt (the retries must not run out while the operator is slow) nor a failure
            wait = min(SETTLE_POLL_SECONDS, max(1.0, self.lost_answer_settle - waited))
            return Submission(message.out_id, retry_after=wait, reason="tencent has no status for the lost call yet")
        return None

    def parse_receipt(self, item: dict) -> tuple[str | None, str | None, str]:
        """One status-callback item: {mobile, report_status SUCCESS|FAIL, errmsg, sid, session_context?, …}."""
        context = item.get("session_context")
        out_id = context if is_our_out_id(context) else None
        code = "DELIVRD" if item.get("report_status") == "SUCCESS" else str(item.get("errmsg") or "FAIL")
        return out_id, (str(item["sid"]) if item.get("sid") else None), code
