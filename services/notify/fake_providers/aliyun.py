"""The fake gateway's Alibaba Cloud SMS (Dysmsapi 2017-05-25, RPC style over HTTP): what the official SDK
sends and expects.

Each call is `POST /` with `x-acs-action` (SendSms | SendBatchSms | QuerySendDetails), the parameters in
the query string (and SendBatchSms's JSON lists in a form body), signed ACS3-HMAC-SHA256:

    Authorization: ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=<h1;h2…>,Signature=<hex>
    Signature = hex(HMAC-SHA256(secret, "ACS3-HMAC-SHA256\\n" + hex(SHA256(canonical request))))
    canonical request = method \\n path \\n sorted query (RFC 3986) \\n "name:value\\n" per signed header
                        \\n signed header names \\n x-acs-content-sha256 (hex SHA-256 of the body)

A bad signature is refused as Alibaba does: HTTP 400 `SignatureDoesNotMatch`; an unknown key 404
`InvalidAccessKeyId.NotFound`; a date more than 15 minutes off 400 `InvalidTimeStamp.Expired`. Business
refusals are HTTP 200 with their `Code`. Receipts are pushed as SmsReport items, replies as SmsUp items.

`QuerySendDetails` (PhoneNumber, SendDate yyyyMMdd in Beijing time, PageSize 1..50, CurrentPage, BizId?)
answers the records of that number and day, as Alibaba keeps them from the moment it takes a message:
`SmsSendDetailDTOs.SmsSendDetailDTO[]` with SendStatus 1 (waiting for its receipt), 2 (failed) or 3
(delivered), ErrCode, OutId, TemplateCode, Content, SendDate, ReceiveDate, and `TotalCount`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from calendar import timegm
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qsl, quote

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
BEIJING = timezone(timedelta(hours=8))  # the time Alibaba's records are kept in
MAX_PAGE_SIZE = 50
SEND_DATE = re.compile(r"^\d{8}$")
MOBILE = re.compile(r"^(?:\+?86|0086)?(1[3-9]\d{9})$")
TEMPLATE_CODE = re.compile(r"^SMS_\d+$")
MAX_BATCH = 100
MAX_VALUE_CHARS = 35
CLOCK_SKEW_SECONDS = 15 * 60
AUTHORIZATION = re.compile(r"^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]+)$")


def error(status: int, code: str, message: str) -> tuple[int, dict]:
    return status, {"RequestId": str(uuid.uuid4()).upper(), "Code": code, "Message": message}


def canonical_request(method: str, path: str, query: str, headers, signed: list[str], payload_hash: str) -> str:
    pairs = sorted(parse_qsl(query, keep_blank_values=True))
    canonical_query = "&".join(f"{key}={quote(value, safe='~')}" for key, value in pairs)
    canonical_headers = "".join(f"{name}:{(headers.get(name) or '').strip()}\n" for name in signed)
    return f"{method}\n{path}\n{canonical_query}\n{canonical_headers}\n{';'.join(signed)}\n{payload_hash}"


def check_signature(method: str, path: str, query: str, headers, raw: bytes, secrets: dict[str, str], now: float):
    """None if the request is signed with a known key's secret, else the refusal (status, body)."""
    match = AUTHORIZATION.match(headers.get("Authorization") or "")
    if match is None:
        return error(400, "MissingAuthorization", "Authorization is mandatory for this action.")
    key_id, signed, given = match.groups()
    if key_id not in secrets:
        return error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
    try:
        stamp = timegm(time.strptime(headers.get("x-acs-date") or "", "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        return error(400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
    if abs(now - stamp) > CLOCK_SKEW_SECONDS:
        return error(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
    payload_hash = hashlib.sha256(raw).hexdigest()
    names = signed.split(";")
    if (headers.get("x-acs-content-sha256") or "") != payload_hash or "host" not in names:
        return error(400, "SignatureDoesNotMatch", "Specified signature does not match our calculation.")
    request = canonical_request(method, path, query, headers, names, payload_hash)
    string_to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(request.encode()).hexdigest()
    expected = hmac.new(secrets[key_id].encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given):
        return error(400, "SignatureDoesNotMatch", "Specified signature does not match our calculation.")
    return None


class FakeAliyun:
    """`handle` answers one signed call; `report` and `reply` shape the pushes. `take(provider, mobile, key,
    record)` is the gateway's: records a message sent and queues its receipt."""

    name = "aliyun"

    def __init__(self, secrets: dict[str, str], take):
        self.secrets = secrets
        self.take = take
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.records: list[dict] = []  # what QuerySendDetails reads, one per message taken

    def handle(self, method: str, path: str, query: str, headers, raw: bytes) -> tuple[int, dict]:
        refused = check_signature(method, path, query, headers, raw, self.secrets, time.time())
        if refused is not None:
            return refused
        params = dict(parse_qsl(query, keep_blank_values=True))
        params.update(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        action = headers.get("x-acs-action")
        if action == "QuerySendDetails":
            return 200, self.query(params, time.time())
        if action == "SendSms":
            numbers = str(params.get("PhoneNumbers", "")).split(",")
            messages = [(n, params.get("SignName"), params.get("TemplateParam") or "{}") for n in numbers]
        elif action == "SendBatchSms":
            try:
                numbers = json.loads(params.get("PhoneNumberJson") or "[]")
                signs = json.loads(params.get("SignNameJson") or "[]")
                values = json.loads(params.get("TemplateParamJson") or "[]")
            except ValueError:
                return 200, self._answer("isv.INVALID_JSON_PARAM", "JSON参数不合法")
            if not numbers or len(numbers) > MAX_BATCH:
                return 200, self._answer("isv.MOBILE_COUNT_OVER_LIMIT", "手机号码数量超过限制")
            if not (len(numbers) == len(signs) == len(values)):
                return 200, self._answer("isv.INVALID_PARAMETERS", "参数异常")
            messages = [
                (n, s, json.dumps(v, ensure_ascii=False)) for n, s, v in zip(numbers, signs, values, strict=True)
            ]
        else:
            return error(400, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
        problem = self._refusal(params.get("TemplateCode"), messages)
        if problem is not None:
            return 200, self._answer(*problem)
        biz_id = f"{int(time.time() * 1000)}{uuid.uuid4().int % 10**6:06d}^0"
        out_id = params.get("OutId") or ""
        for number, sign, values in messages:
            mobile = MOBILE.match(str(number)).group(1)
            content = f"【{sign}】{params['TemplateCode']} {values}"
            fate, reported_at = self.take(
                self.name, mobile, out_id, {"biz_id": biz_id, "out_id": out_id, "content": content}
            )
            self._keep(mobile, biz_id, out_id, params["TemplateCode"], content, fate, reported_at)
        return 200, {**self._answer("OK", "OK"), "BizId": biz_id}

    def _keep(self, mobile, biz_id, out_id, template_code, content, fate, reported_at) -> None:
        sent = datetime.now(BEIJING)
        with self.lock:
            self.records.append({"mobile": mobile, "date": sent.strftime("%Y%m%d"), "biz_id": biz_id,
                                 "out_id": out_id, "template_code": template_code, "content": content,
                                 "send_date": sent.strftime(TIME_FORMAT), "fate": fate,
                                 "reported_at": reported_at})  # fmt: skip

    def query(self, params: dict, now: float) -> dict:
        """QuerySendDetails: the records of one number on one day, a page at a time."""
        number = MOBILE.match(str(params.get("PhoneNumber") or ""))
        if number is None:
            return self._answer("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        try:
            size, page = int(params.get("PageSize") or 0), int(params.get("CurrentPage") or 0)
        except ValueError:
            size = page = 0
        if not SEND_DATE.match(str(params.get("SendDate") or "")) or not 1 <= size <= MAX_PAGE_SIZE or page < 1:
            return self._answer("isv.INVALID_PARAMETERS", "参数异常")
        with self.lock:
            found = [r for r in self.records if r["mobile"] == number.group(1) and r["date"] == params["SendDate"]
                     and params.get("BizId") in (None, "", r["biz_id"])]  # fmt: skip
        shown = [self._detail(r, now) for r in found[(page - 1) * size : page * size]]
        return {**self._answer("OK", "OK"), "TotalCount": len(found), "SmsSendDetailDTOs": {"SmsSendDetailDTO": shown}}

    @classmethod
    def _detail(cls, record: dict, now: float) -> dict:
        reported = record["reported_at"] is not None and record["reported_at"] <= now
        status, code = 1, ""  # waiting for its receipt
        if reported:
            report = cls.report(record["mobile"], record, record["fate"])
            status, code = (3 if report["success"] else 2), report["err_code"]
        receive = datetime.fromtimestamp(record["reported_at"], BEIJING).strftime(TIME_FORMAT) if reported else ""
        return {"PhoneNum": record["mobile"], "SendStatus": status, "ErrCode": code,
                "TemplateCode": record["template_code"], "Content": record["content"],
                "SendDate": record["send_date"], "ReceiveDate": receive, "OutId": record["out_id"]}  # fmt: skip

    @staticmethod
    def _refusal(template_code, messages) -> tuple[str, str] | None:
        if not TEMPLATE_CODE.match(str(template_code or "")):
            return "isv.SMS_TEMPLATE_ILLEGAL", "模板不合法(不存在或被拉黑)"
        for number, sign, values in messages:
            if not MOBILE.match(str(number)):
                return "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号"
            if not sign:
                return "isv.SMS_SIGNATURE_ILLEGAL", "签名不合法(不存在或被拉黑)"
            try:
                parsed = json.loads(values)
            except ValueError:
                return "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值"
            if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
                return "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值"
            if any(len(v) > MAX_VALUE_CHARS for v in parsed.values()):
                return "isv.PARAM_LENGTH_LIMIT", "参数超出长度限制"
        return None

    @staticmethod
    def _answer(code: str, message: str) -> dict:
        return {"Code": code, "Message": message, "RequestId": str(uuid.uuid4()).upper()}

    @staticmethod
    def report(mobile: str, record: dict, fate: str) -> dict:
        """One SmsReport item for a message the gateway decided the `fate` of (delivered | permanent | temporary)."""
        now = datetime.now(UTC).strftime(TIME_FORMAT)
        code, text = {"delivered": ("DELIVERED", "用户接收成功"), "permanent": ("MOBILE_NOT_ON_SERVICE", "停机"),
                      "temporary": ("MOBILE_OFF", "关机")}[fate]  # fmt: skip
        return {"phone_number": mobile, "send_time": now, "report_time": now, "success": fate == "delivered",
                "err_code": code, "err_msg": text, "sms_size": "1", "biz_id": record["biz_id"],
                "out_id": record["out_id"]}  # fmt: skip

    @staticmethod
    def reply(mobile: str, content: str) -> dict:
        """One SmsUp item: a resident's reply to our number."""
        return {"phone_number": mobile, "content": content, "send_time": datetime.now(UTC).strftime(TIME_FORMAT),
                "dest_code": "1234", "sequence_id": uuid.uuid4().int % 10**10, "sign_name": "慈溪新市民"}  # fmt: skip
