"""Alibaba Cloud SMS (阿里云短信服务, Dysmsapi 2017-05-25) through its official SDK.

One message: `SendSms` (PhoneNumbers, SignName, TemplateCode, TemplateParam as JSON, OutId = our out_id).
Several of one template: `SendBatchSms` (up to 100 numbers; OutId is one per call, so its receipts are
matched by BizId and number instead). The SDK signs each request (ACS3-HMAC-SHA256) with the AccessKey.
Receipts arrive as SmsReport pushes and replies as SmsUp pushes (`vendor_callbacks`).

Alibaba does not de-duplicate on OutId (its terms say no idempotence), so before a retry after a lost answer
(which stays with this provider, `Outgoing.held_by`) `QuerySendDetails` is asked, by number and send date,
for a record with the lost call's OutId: found, it is recorded as sent and not sent again; see
docs/services/notify.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

from alibabacloud_dysmsapi20170525 import models as dysms
from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException, ThrottlingException
from alibabacloud_tea_openapi.utils_models import Config
from darabonba.runtime import RuntimeOptions

from services.notify import provider_templates
from services.notify.providers.base import Outgoing, Submission, is_our_out_id
from services.notify.providers.vendor import PERMANENT, TECHNICAL, TEMPORARY, TemplateCodeProvider
from shared.platform.clock import SHANGHAI

DEFAULT_ENDPOINT = "https://dysmsapi.aliyuncs.com"
QUERY_PAGE = 50  # QuerySendDetails' largest PageSize
QUERY_PAGES = 10  # a number with more records than this on one day: the records cannot tell, ask again later
# QuerySendDetails' SendStatus: 1 waiting for its receipt, 2 failed, 3 delivered
SEND_FAILED, SEND_DELIVERED = 2, 3


class AliyunSms(TemplateCodeProvider):
    name = provider_templates.ALIYUN
    batch_size = 100  # SendBatchSms' PhoneNumberJson
    SUBMIT_CODES = {
        "isv.MOBILE_NUMBER_ILLEGAL": PERMANENT,
        "isv.MOBILE_COUNT_OVER_LIMIT": PERMANENT,
        "isv.TEMPLATE_MISSING_PARAMETERS": PERMANENT,
        "isv.TEMPLATE_PARAMS_ILLEGAL": PERMANENT,
        "isv.INVALID_PARAMETERS": PERMANENT,
        "isv.INVALID_JSON_PARAM": PERMANENT,
        "isv.PARAM_LENGTH_LIMIT": PERMANENT,
        "isv.PARAM_NOT_SUPPORT_URL": PERMANENT,
        "isv.SMS_TEMPLATE_ILLEGAL": PERMANENT,
        "isv.SMS_SIGNATURE_ILLEGAL": PERMANENT,
        "isv.BLACK_KEY_CONTROL_LIMIT": PERMANENT,
        "isv.SMS_CONTENT_ILLEGAL": PERMANENT,
        "isv.SMS_SIGNATURE_SCENE_ILLEGAL": PERMANENT,  # the signature's scene does not fit the template's kind
        "isv.SIGN_STATE_ILLEGAL": PERMANENT,
        "isv.SMS_SIGN_ILLEGAL": PERMANENT,
        "isv.EXTEND_CODE_ERROR": PERMANENT,
        "isv.DOMESTIC_NUMBER_NOT_SUPPORTED": PERMANENT,
        "isv.BUSINESS_LIMIT_CONTROL": TEMPORARY,  # this number's minute/hour/day limit
        # our account cannot send (no balance, suspended, bad key): not the message's fault, and the other
        # provider may well take it
        "isv.AMOUNT_NOT_ENOUGH": TECHNICAL,
        "isv.DAY_LIMIT_CONTROL": TECHNICAL,  # the daily total set in our console, not one number's limit
        "isv.MONTH_LIMIT_CONTROL": TECHNICAL,
        "isv.PRODUCT_UN_SUBSCRIPT": TECHNICAL,  # SMS not activated on the account of this AccessKey
        "isv.PRODUCT_UNSUBSCRIBE": TECHNICAL,
        "isv.DENY_IP_RANGE": TECHNICAL,  # our source address is outside the mainland
        "isv.OUT_OF_SERVICE": TECHNICAL,
        "isv.ACCOUNT_NOT_EXISTS": TECHNICAL,
        "isv.ACCOUNT_ABNORMAL": TECHNICAL,
        "isp.RAM_PERMISSION_DENY": TECHNICAL,
        "SignatureDoesNotMatch": TECHNICAL,
        "InvalidAccessKeyId.NotFound": TECHNICAL,
        "isv.SYSTEM_ERROR": TECHNICAL,
        "isp.SYSTEM_ERROR": TECHNICAL,
        "ServiceUnavailable": TECHNICAL,
        "InternalError": TECHNICAL,
    }
    ACCOUNT_CODES = {
        "isv.AMOUNT_NOT_ENOUGH": "balance",
        "isv.DAY_LIMIT_CONTROL": "limit",
        "isv.MONTH_LIMIT_CONTROL": "limit",
        "isv.PRODUCT_UN_SUBSCRIPT": "suspended",
        "isv.PRODUCT_UNSUBSCRIBE": "suspended",
        "isv.DENY_IP_RANGE": "credentials",
        "isv.OUT_OF_SERVICE": "suspended",  # 业务停机: usually arrears
        "isv.ACCOUNT_NOT_EXISTS": "suspended",
        "isv.ACCOUNT_ABNORMAL": "suspended",
        "isp.RAM_PERMISSION_DENY": "credentials",
        "SignatureDoesNotMatch": "credentials",
        "InvalidAccessKeyId.NotFound": "credentials",
    }
    THROTTLED_CODES = frozenset({"Throttling", "Throttling.User", "Throttling.Api", "isv.FLOW_LIMIT"})
    DELIVERED_RECEIPTS = frozenset({"DELIVERED", "DELIVRD"})
    PERMANENT_RECEIPTS = frozenset(
        {
            "MOBILE_NUMBER_ILLEGAL",
            "MOBILE_NOT_ON_SERVICE",
            "MOBILE_IN_BLACK",
            "MOBILE_ACCOUNT_ABNORMAL",
            "USER_REJECTED",
        }
    )

    def __init__(self, access_key_id: str, access_key_secret: str, sign_name: str, endpoint: str = DEFAULT_ENDPOINT,
                 timeout: float = 10):  # fmt: skip
        url = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}")
        self.secret = access_key_secret
        self.sign_name = sign_name
        # no SDK retries: a resend is the engine's decision, under the out_id rule
        self.client = Client(
            Config(
                access_key_id=access_key_id,
                access_key_secret=access_key_secret,
                protocol=url.scheme,
                endpoint=url.netloc,
                read_timeout=int(timeout * 1000),
                connect_timeout=int(min(3.0, timeout) * 1000),
            )
        )
        self.runtime = RuntimeOptions()

    def number_ref(self, call_id: str, phone: str) -> str:
        """Our provider_ref: the call's id (the BizId of one message's call; the OutId token of a call of several,
        which its receipts and QuerySendDetails both echo) with the number — keyed, never clear."""
        tag = hmac.new(self.secret.encode(), phone.encode(), hashlib.sha256).hexdigest()[:16]
        return f"{call_id}/{tag}"[:64]

    def send_call(self, call: list[Outgoing]) -> list[Submission]:
        spec = call[0].provider_templates[self.name]
        out_id = self.client_id(call)
        called_at = datetime.now(UTC)  # kept as UTC: SQLite hands a stored time back without its zone
        try:
            if len(call) == 1:
                request = dysms.SendSmsRequest(
                    phone_numbers=call[0].recipient,
                    sign_name=self.sign_name,
                    template_code=spec["code"],
                    template_param=_json(provider_templates.named_parameters(spec, call[0].personalisation)),
                    out_id=out_id,
                )
                body = self.client.send_sms_with_options(request, self.runtime).body
            else:
                request = dysms.SendBatchSmsRequest(
                    phone_number_json=_json([m.recipient for m in call]),
                    sign_name_json=_json([self.sign_name] * len(call)),
                    template_code=spec["code"],
                    template_param_json=_json(
                        [provider_templates.named_parameters(spec, m.personalisation) for m in call]
                    ),
                    out_id=out_id,
                )
                body = self.client.send_batch_sms_with_options(request, self.runtime).body
        except ThrottlingException as exc:
            wait = (exc.retry_after or 1000) / 1000
            return [Submission(m.out_id, retry_after=wait, reason=f"aliyun {exc.code}") for m in call]
        except ClientException as exc:  # a 4xx: refused, nothing sent (bad signature, unknown key, …)
            return [self.refusal(m.out_id, str(exc.code), "refused the call") for m in call]
        except ServerException as exc:  # a 5xx with Alibaba's error body: it answered that it did not take them
            return [self.refusal(m.out_id, str(exc.code), f"HTTP {exc.status_code}") for m in call]
        except Exception as exc:  # unreachable, timed out, malformed answer: the outcome is unknown
            return self.lost(call, f"aliyun unreachable: {type(exc).__name__}", out_id, called_at)
        if body is None or body.code is None:
            return self.lost(call, "aliyun answered malformed JSON", out_id, called_at)
        if body.code != "OK":
            return [self.refusal(m.out_id, body.code, body.message) for m in call]
        call_id = body.biz_id if len(call) == 1 else out_id
        return [Submission(m.out_id, accepted=True, provider_ref=self.number_ref(call_id, m.recipient)) for m in call]

    def look_up(self, message: Outgoing) -> Submission | None:
        """QuerySendDetails by number and send date (the BizId was in the lost answer), matched by OutId. The
        dates a minute either side of the call too: the vendor's clock may have seen another day."""
        at = self.called_at(message)
        dates = sorted({(at + timedelta(seconds=s)).astimezone(SHANGHAI).strftime("%Y%m%d") for s in (-60, 0, 60)})
        try:
            for date in dates:
                for page in range(1, QUERY_PAGES + 1):
                    request = dysms.QuerySendDetailsRequest(
                        phone_number=message.recipient, send_date=date, page_size=QUERY_PAGE, current_page=page
                    )
                    body = self.client.query_send_details_with_options(request, self.runtime).body
                    if body is None or body.code != "OK":
                        return self.still_held(message, f"aliyun QuerySendDetails {getattr(body, 'code', None)}")
                    records = body.sms_send_detail_dtos.sms_send_detail_dto if body.sms_send_detail_dtos else []
                    for record in records:
                        if str(record.out_id or "") == message.held_call:
                            return self._found(message, record)
                    if page * QUERY_PAGE >= int(body.total_count or 0):
                        break
                else:
                    return self.still_held(message, "aliyun QuerySendDetails: too many records to tell")
        except Exception as exc:  # throttled, refused, unreachable: the records cannot tell now
            return self.still_held(
                message, f"aliyun QuerySendDetails failed: {getattr(exc, 'code', None) or type(exc).__name__}"
            )
        return None  # no record of that call: it never went

    def _found(self, message: Outgoing, record) -> Submission:
        receipt = None
        if record.send_status == SEND_DELIVERED:
            receipt = "DELIVERED"
        elif record.send_status == SEND_FAILED:
            receipt = str(record.err_code or "UNKNOWN")
        ref = self.number_ref(message.held_call, message.recipient)
        return Submission(message.out_id, accepted=True, provider_ref=ref, receipt=receipt)

    def parse_receipt(self, item: dict) -> tuple[str | None, str | None, str]:
        """One SmsReport item: {phone_number, success, err_code, biz_id, out_id, …}."""
        ours = is_our_out_id(item.get("out_id"))
        out_id = item.get("out_id") if ours else None
        call_id = item.get("biz_id") if ours else item.get("out_id")  # one message's call, or several's token
        ref = self.number_ref(str(call_id or ""), str(item.get("phone_number") or ""))
        success = item.get("success") in (True, "true", "True")
        code = "DELIVERED" if success else str(item.get("err_code") or "UNKNOWN")
        return out_id, ref, code


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
