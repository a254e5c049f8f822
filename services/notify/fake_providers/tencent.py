"""The fake gateway's Tencent Cloud SMS (sms 2021-01-11, API 3.0): what the official SDK sends and expects.

Each call is `POST /` with `X-TC-Action` (SendSms | PullSmsSendStatusByPhoneNumber | PullSmsSendStatus), a
JSON body and TC3-HMAC-SHA256:

    Authorization: TC3-HMAC-SHA256 Credential=<SecretId>/<date>/sms/tc3_request, SignedHeaders=content-type;host,
                   Signature=<hex>
    canonical request = POST \\n / \\n (empty query) \\n content-type:…\\nhost:…\\n \\n content-type;host
                        \\n hex(SHA256(body))
    string to sign = "TC3-HMAC-SHA256\\n" + X-TC-Timestamp + "\\n" + <date>/sms/tc3_request
                     + "\\n" + hex(SHA256(canonical))
    key = HMAC("TC3" + SecretKey, date) → HMAC(·, "sms") → HMAC(·, "tc3_request")

Every answer is HTTP 200 `{"Response": {…, "RequestId"}}`; a refused call carries `Response.Error` (a bad
signature `AuthFailure.SignatureFailure`, an unknown SecretId `AuthFailure.SecretIdNotFound`, a timestamp more
than 5 minutes off `AuthFailure.SignatureExpire`), each number its own `SendStatus`. Receipts are pushed as
status-callback items, replies as reply-callback objects.

The pull APIs read the statuses the operators reported, as Tencent keeps them (a message has none until its
receipt is due; a number that never reports, none at all): `PullSmsSendStatusByPhoneNumber` (BeginTime and
EndTime in UNIX seconds, Offset 0, Limit ≤ 100, PhoneNumber +86…, SmsSdkAppId) those of one number sent
in the window; `PullSmsSendStatus` (Limit, SmsSdkAppId) those not pulled before, each once. Each item:
UserReceiveTime, CountryCode, SubscriberNumber, PhoneNumber, SerialNo, ReportStatus (SUCCESS | FAIL),
Description (the operator's code), SessionContext.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from datetime import UTC, datetime

SERVICE = "sms"
MOBILE = re.compile(r"^\+86(1[3-9]\d{9})$")
TEMPLATE_ID = re.compile(r"^\d+$")
MAX_NUMBERS = 200
MAX_PULL = 100
PULL_DAYS = 7  # how far back the pull APIs reach
PULLS = ("PullSmsSendStatusByPhoneNumber", "PullSmsSendStatus")
CLOCK_SKEW_SECONDS = 300
AUTHORIZATION = re.compile(
    r"^TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/([a-z]+)/tc3_request, "
    r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$"
)


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def signature(secret_key: str, date: str, timestamp: str, canonical: str) -> str:
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), date), SERVICE), "tc3_request")
    scope = f"{date}/{SERVICE}/tc3_request"
    string_to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def error(code: str, message: str) -> dict:
    return {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": str(uuid.uuid4())}}


def check_signature(method: str, path: str, query: str, headers, raw: bytes, secrets: dict[str, str], now: float):
    """None if signed with a known SecretId's key, else the refusal body."""
    match = AUTHORIZATION.match(headers.get("Authorization") or "")
    if match is None:
        return error("AuthFailure.InvalidAuthorization", "Authorization header is invalid.")
    secret_id, date, service, signed, given = match.groups()
    if secret_id not in secrets:
        return error("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
    timestamp = headers.get("X-TC-Timestamp") or ""
    if not timestamp.isdigit() or abs(now - int(timestamp)) > CLOCK_SKEW_SECONDS:
        return error("AuthFailure.SignatureExpire", "Signature expired.")
    if service != SERVICE or date != datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d"):
        return error("AuthFailure.SignatureFailure", "The provided credentials could not be validated.")
    names = signed.split(";")
    canonical_headers = "".join(f"{name}:{(headers.get(name) or '').strip().lower()}\n" for name in names)
    canonical = f"{method}\n{path}\n{query}\n{canonical_headers}\n{signed}\n{hashlib.sha256(raw).hexdigest()}"
    if not hmac.compare_digest(signature(secrets[secret_id], date, timestamp, canonical), given):
        return error("AuthFailure.SignatureFailure", "The provided credentials could not be validated.")
    return None


class FakeTencent:
    name = "tencent"

    def __init__(self, secrets: dict[str, str], sdk_app_id: str, take):
        self.secrets = secrets
        self.sdk_app_id = sdk_app_id
        self.take = take
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.records: list[dict] = []  # one per message taken: what the pull APIs read once reported

    def handle(self, method: str, path: str, query: str, headers, raw: bytes) -> tuple[int, dict]:
        refused = check_signature(method, path, query, headers, raw, self.secrets, time.time())
        if refused is not None:
            return 200, refused
        action = headers.get("X-TC-Action")
        if action not in ("SendSms", *PULLS):
            return 200, error("InvalidAction", "The action does not exist.")
        try:
            params = json.loads(raw or b"{}")
        except ValueError:
            return 200, error("InvalidParameter", "The request body is not JSON.")
        if action in PULLS:
            return 200, self.pull(action, params, time.time())
        numbers = params.get("PhoneNumberSet") or []
        if not isinstance(numbers, list) or not 1 <= len(numbers) <= MAX_NUMBERS:
            return 200, error("LimitExceeded.PhoneNumberCountLimit", f"1..{MAX_NUMBERS} numbers a call.")
        if str(params.get("SmsSdkAppId")) != self.sdk_app_id:
            return 200, error("UnauthorizedOperation.SmsSdkAppIdVerifyFail", "SmsSdkAppId verification failed.")
        if not TEMPLATE_ID.match(str(params.get("TemplateId") or "")):
            return 200, error("FailedOperation.TemplateIncorrectOrUnapproved", "The template is not approved.")
        values = params.get("TemplateParamSet") or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            return 200, error("InvalidParameterValue.TemplateParameterFormatError", "TemplateParamSet format error.")
        context = str(params.get("SessionContext") or "")
        statuses = []
        for number in numbers:
            match = MOBILE.match(str(number))
            if match is None:
                statuses.append(self._status(number, context, "InvalidParameterValue.IncorrectPhoneNumber", ""))
                continue
            serial = f"2433:{uuid.uuid4().int % 10**28:028d}"
            content = f"【{params.get('SignName')}】{params['TemplateId']} {json.dumps(values, ensure_ascii=False)}"
            fate, reported_at = self.take(self.name, match.group(1), context, {"sid": serial, "content": content})
            with self.lock:
                self.records.append({"mobile": match.group(1), "sid": serial, "context": context, "fate": fate,
                                     "sent_at": time.time(), "reported_at": reported_at, "pulled": False})  # fmt: skip
            statuses.append(self._status(number, context, "Ok", serial))
        return 200, {"Response": {"SendStatusSet": statuses, "RequestId": str(uuid.uuid4())}}

    def pull(self, action: str, params: dict, now: float) -> dict:
        if str(params.get("SmsSdkAppId")) != self.sdk_app_id:
            return error("UnauthorizedOperation.SmsSdkAppIdVerifyFail", "SmsSdkAppId verification failed.")
        limit = params.get("Limit")
        if not isinstance(limit, int) or not 1 <= limit <= MAX_PULL:
            return error("InvalidParameterValue.LimitVerifyFail", f"Limit is 1..{MAX_PULL}.")
        with self.lock:
            reported = [r for r in self.records if r["reported_at"] is not None and r["reported_at"] <= now]
            if action == "PullSmsSendStatus":  # the app's statuses not pulled yet, each once
                found = [r for r in reported if not r["pulled"]][:limit]
                for record in found:
                    record["pulled"] = True
            else:
                match = MOBILE.match(str(params.get("PhoneNumber") or ""))
                begin, end = params.get("BeginTime"), params.get("EndTime")
                if match is None:
                    return error("InvalidParameterValue.IncorrectPhoneNumber", "The phone number is incorrect.")
                if not isinstance(begin, int) or not isinstance(end, int) or begin < now - PULL_DAYS * 86400:
                    return error("InvalidParameterValue.InvalidStartTime", "BeginTime is invalid.")
                found = [r for r in reported if r["mobile"] == match.group(1) and begin <= r["sent_at"] <= end]
                found = found[:limit]
        return {"Response": {"PullSmsSendStatusSet": [self._pulled(r) for r in found], "RequestId": str(uuid.uuid4())}}

    @classmethod
    def _pulled(cls, record: dict) -> dict:
        report = cls.report(record["mobile"], record, record["fate"])
        return {"UserReceiveTime": int(record["reported_at"]), "CountryCode": "86",
                "SubscriberNumber": record["mobile"], "PhoneNumber": "+86" + record["mobile"],
                "SerialNo": record["sid"],
                "ReportStatus": report["report_status"], "Description": report["errmsg"],
                "SessionContext": record["context"]}  # fmt: skip

    @staticmethod
    def _status(number: str, context: str, code: str, serial: str) -> dict:
        return {"SerialNo": serial, "PhoneNumber": str(number), "Fee": 1 if code == "Ok" else 0,
                "SessionContext": context, "Code": code, "Message": "send success" if code == "Ok" else code,
                "IsoCode": "CN"}  # fmt: skip

    @staticmethod
    def report(mobile: str, record: dict, fate: str) -> dict:
        errmsg, description = {"delivered": ("DELIVRD", "用户短信送达成功"), "permanent": ("MN:0001", "空号"),
                               "temporary": ("MK:0012", "关机")}[fate]  # fmt: skip
        return {"user_receive_time": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"), "nationcode": "86",
                "mobile": mobile, "report_status": "SUCCESS" if fate == "delivered" else "FAIL", "errmsg": errmsg,
                "description": description, "sid": record["sid"]}  # fmt: skip

    @staticmethod
    def reply(mobile: str, content: str) -> dict:
        return {"extend": "", "mobile": mobile, "nationcode": "86", "sign": "慈溪新市民", "text": content,
                "time": int(time.time())}  # fmt: skip
