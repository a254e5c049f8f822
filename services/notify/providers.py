"""Provider adapters: one small class per way out, behind one interface.

A provider takes a batch of `Outgoing` messages and answers one `Submission` per message: accepted (a
receipt will follow, or — for the log provider — already delivered), failed at once with a status, or
throttled (try again later; not counted as an attempt). Receipts arrive later on notify's HTTP callbacks
and are mapped to our statuses by the provider's `receipt_status`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import requests

from services.notify import statuses
from shared.pii import mask_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outgoing:
    out_id: str  # notification id + "." + submission number: the gateway de-duplicates on it
    recipient: str  # phone (sms) or openid (wechat), decrypted just for the call
    body: str  # signature + text
    template_id: str
    personalisation: dict = field(default_factory=dict)
    wechat_template_id: str | None = None


@dataclass(frozen=True)
class Submission:
    out_id: str
    accepted: bool = False
    delivered: bool = False  # the provider confirmed delivery synchronously (log provider)
    provider_ref: str | None = None
    status: str | None = None  # a failure status when not accepted
    reason: str | None = None
    retry_after: float | None = None  # throttled: try again after this many seconds, not an attempt


class Provider:
    name = "provider"
    channel = statuses.SMS
    batch_size = 1

    def send(self, batch: list[Outgoing]) -> list[Submission]:
        raise NotImplementedError

    def receipt_status(self, code: str) -> tuple[str, str | None]:
        """Map a provider's receipt code to (our status, reason)."""
        raise NotImplementedError

    def parse_receipt(self, item: dict) -> tuple[str | None, str | None, str]:
        """(out_id, provider_ref, code) from one pushed receipt; one of the first two names the message."""
        return item.get("out_id"), item.get("msgid"), str(item.get("code", ""))


class LogProvider(Provider):
    """Records the message in the log (number masked) and calls it delivered: the default for `make run`."""

    name = "log"
    batch_size = 500

    def __init__(self, channel: str = statuses.SMS):
        self.channel = channel

    def send(self, batch: list[Outgoing]) -> list[Submission]:
        for message in batch:
            log.info("%s via log provider to %s: %s", self.channel, mask_text(message.recipient), message.body)
        return [Submission(m.out_id, accepted=True, delivered=True, provider_ref=f"log-{m.out_id}") for m in batch]

    def receipt_status(self, code: str) -> tuple[str, str | None]:
        return statuses.DELIVERED, None


# Receipt codes of a typical Chinese SMS gateway (CMPP-style stat + error code).
SMS_DELIVERED_CODES = frozenset({"DELIVRD", "0"})
SMS_PERMANENT_CODES = frozenset({"MK:0001", "MK:0004", "MK:0010", "UNDELIV:1", "BLACK", "REJECTD"})
CONNECT_TIMEOUT_SECONDS = 3.0
# Submission codes: 0 accepted; these mean the number or content can never go.
SUBMIT_PERMANENT_CODES = frozenset({21, 22, 23})


class HttpSmsGateway(Provider):
    """A gateway shaped like the common Chinese SMS APIs: up to 100 numbers a call, JSON over HTTPS.

    POST {url}/sms/batch  {"apikey", "sign", "messages": [{"mobile", "content", "out_id"}]}
      -> 200 {"code": 0, "results": [{"out_id", "code", "msg", "msgid"}]} | 429 (rate limited) | 401
    Receipts are pushed to notify: POST /callbacks/sms/receipts [{"out_id", "msgid", "stat", "err"}].
    """

    name = "gateway"
    channel = statuses.SMS
    batch_size = 100

    def __init__(self, url: str, api_key: str, signature: str, timeout: float = 10, session=None):
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.signature = signature
        # connect fast or not at all; the read timeout bounds how long a hung gateway holds a send (well
        # inside the dispatch lease); the attempt then counts as a technical failure and is retried
        self.timeout = (min(CONNECT_TIMEOUT_SECONDS, timeout), timeout)
        self.http = session or requests.Session()

    def send(self, batch: list[Outgoing]) -> list[Submission]:
        payload = {
            "apikey": self.api_key,
            "sign": self.signature,
            "messages": [{"mobile": m.recipient, "content": m.body, "out_id": m.out_id} for m in batch],
        }
        try:
            response = self.http.post(f"{self.url}/sms/batch", json=payload, timeout=self.timeout)
        except requests.RequestException as exc:
            return _all_failed(batch, statuses.TECHNICAL_FAILURE, f"gateway unreachable: {type(exc).__name__}")
        if response.status_code == 429:
            retry_after = _seconds(response.headers.get("Retry-After"), default=1.0)
            return [Submission(m.out_id, retry_after=retry_after, reason="rate limited") for m in batch]
        if response.status_code != 200:
            return _all_failed(batch, statuses.TECHNICAL_FAILURE, f"gateway HTTP {response.status_code}")
        try:
            by_id = {item["out_id"]: item for item in response.json()["results"]}
        except (ValueError, KeyError, TypeError):
            return _all_failed(batch, statuses.TECHNICAL_FAILURE, "gateway answered malformed JSON")
        return [self._submission(m.out_id, by_id.get(m.out_id)) for m in batch]

    @staticmethod
    def _submission(out_id: str, item: dict | None) -> Submission:
        if item is None:
            return Submission(out_id, status=statuses.TECHNICAL_FAILURE, reason="missing from the gateway's answer")
        code = int(item.get("code", -1))
        if code == 0:
            return Submission(out_id, accepted=True, provider_ref=str(item.get("msgid")))
        status = statuses.PERMANENT_FAILURE if code in SUBMIT_PERMANENT_CODES else statuses.TEMPORARY_FAILURE
        return Submission(out_id, status=status, reason=f"gateway code {code}: {item.get('msg', '')}"[:200])

    def receipt_status(self, code: str) -> tuple[str, str | None]:
        if code in SMS_DELIVERED_CODES:
            return statuses.DELIVERED, None
        if code in SMS_PERMANENT_CODES:
            return statuses.PERMANENT_FAILURE, f"receipt {code}"
        return statuses.TEMPORARY_FAILURE, f"receipt {code}"

    def parse_receipt(self, item: dict) -> tuple[str | None, str | None, str]:
        stat = str(item.get("stat", ""))
        code = stat if stat == "DELIVRD" else str(item.get("err") or stat)
        return item.get("out_id"), item.get("msgid"), code


class WeChatTemplateMessage(Provider):
    """The official account's template-message API (one recipient a call).

    GET  {url}/cgi-bin/token?grant_type=client_credential&appid=..&secret=..  -> {"access_token", "expires_in"}
    POST {url}/cgi-bin/message/template/send?access_token=..
         {"touser", "template_id", "data": {"content": {"value"}, <placeholder>: {"value"}}, "client_msg_id"}
      -> {"errcode": 0, "msgid"} | errcode 43004 (not a follower: permanent) | 45009 (frequency: throttled)
    The TEMPLATESENDJOBFINISH push is relayed to notify: POST /callbacks/wechat/receipts [{"msgid", "status"}].
    """

    name = "wechat"
    channel = statuses.WECHAT
    batch_size = 20
    PERMANENT_ERRCODES = frozenset({40003, 43004, 43019, 40037})
    THROTTLED_ERRCODES = frozenset({45009, 45047})

    def __init__(self, url: str, app_id: str, secret: str, timeout: float = 10, session=None):
        self.url = url.rstrip("/")
        self.app_id = app_id
        self.secret = secret
        self.timeout = timeout
        self.http = session or requests.Session()
        self._token: str | None = None
        self._token_expires = 0.0

    def _access_token(self) -> str:
        if self._token is None or time.monotonic() >= self._token_expires:
            response = self.http.get(
                f"{self.url}/cgi-bin/token",
                params={"grant_type": "client_credential", "appid": self.app_id, "secret": self.secret},
                timeout=self.timeout,
            )
            body = response.json()
            self._token = body["access_token"]
            self._token_expires = time.monotonic() + int(body.get("expires_in", 7200)) - 300
        return self._token

    def send(self, batch: list[Outgoing]) -> list[Submission]:
        return [self._send_one(message) for message in batch]

    def _send_one(self, message: Outgoing) -> Submission:
        data = {"content": {"value": message.body}}
        data.update({key: {"value": str(value)} for key, value in message.personalisation.items()})
        payload = {
            "touser": message.recipient,
            "template_id": message.wechat_template_id or message.template_id,
            "data": data,
            "client_msg_id": message.out_id,
        }
        try:
            response = self.http.post(
                f"{self.url}/cgi-bin/message/template/send",
                params={"access_token": self._access_token()},
                json=payload,
                timeout=self.timeout,
            )
            body = response.json()
        except (requests.RequestException, ValueError, KeyError) as exc:
            return Submission(message.out_id, status=statuses.TECHNICAL_FAILURE, reason=f"wechat: {type(exc).__name__}")
        errcode = int(body.get("errcode", -1))
        if errcode == 0:
            return Submission(message.out_id, accepted=True, provider_ref=str(body.get("msgid")))
        if errcode in self.THROTTLED_ERRCODES:
            return Submission(message.out_id, retry_after=60.0, reason=f"wechat errcode {errcode}")
        if errcode in (40001, 42001):  # access token expired: fetch a new one next time
            self._token = None
        status = statuses.PERMANENT_FAILURE if errcode in self.PERMANENT_ERRCODES else statuses.TECHNICAL_FAILURE
        return Submission(message.out_id, status=status, reason=f"wechat errcode {errcode}")

    def receipt_status(self, code: str) -> tuple[str, str | None]:
        if code == "success":
            return statuses.DELIVERED, None
        if code.startswith("failed:user block"):
            return statuses.PERMANENT_FAILURE, "wechat: user blocked template messages"
        return statuses.TEMPORARY_FAILURE, f"wechat: {code}"[:200]

    def parse_receipt(self, item: dict) -> tuple[str | None, str | None, str]:
        return None, item.get("msgid"), str(item.get("status", ""))


def _all_failed(batch: list[Outgoing], status: str, reason: str) -> list[Submission]:
    return [Submission(m.out_id, status=status, reason=reason) for m in batch]


def _seconds(value, default: float) -> float:
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return default


def build_providers(config: dict) -> dict[str, Provider]:
    """The provider per channel, as configured (`SMS_PROVIDER`: log | gateway; `WECHAT_PROVIDER`: log | wechat)."""
    sms_kind = str(config.get("SMS_PROVIDER") or "log")
    if sms_kind == "gateway":
        sms: Provider = HttpSmsGateway(
            str(config["SMS_GATEWAY_URL"]),
            str(config.get("SMS_GATEWAY_KEY") or ""),
            str(config.get("SMS_SIGNATURE") or "【慈溪新市民】"),
            timeout=float(config.get("SMS_GATEWAY_TIMEOUT_SECONDS") or 10),
        )
    elif sms_kind == "log":
        sms = LogProvider(statuses.SMS)
    else:
        raise ValueError(f"unknown SMS_PROVIDER {sms_kind!r}")
    wechat_kind = str(config.get("WECHAT_PROVIDER") or "log")
    if wechat_kind == "wechat":
        wechat: Provider = WeChatTemplateMessage(
            str(config["WECHAT_API_URL"]),
            str(config.get("WECHAT_APP_ID") or ""),
            str(config.get("WECHAT_SECRET") or ""),
        )
    elif wechat_kind == "log":
        wechat = LogProvider(statuses.WECHAT)
    else:
        raise ValueError(f"unknown WECHAT_PROVIDER {wechat_kind!r}")
    return {statuses.SMS: sms, statuses.WECHAT: wechat}
