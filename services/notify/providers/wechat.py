"""WeChat official-account template messages."""

from __future__ import annotations

import time

import requests

from services.notify import statuses
from services.notify.providers.base import Outgoing, Provider, Submission


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
