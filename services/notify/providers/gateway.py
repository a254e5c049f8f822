"""The HTTP SMS gateway of our own protocol (and the fake gateway's): kept for the fault suite and any
gateway that speaks it."""

from __future__ import annotations

import requests

from services.notify import statuses
from services.notify.providers.base import Outgoing, Provider, Submission, all_failed, seconds

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
            return all_failed(batch, statuses.TECHNICAL_FAILURE, f"gateway unreachable: {type(exc).__name__}")
        if response.status_code == 429:
            retry_after = seconds(response.headers.get("Retry-After"), default=1.0)
            return [Submission(m.out_id, retry_after=retry_after, reason="rate limited") for m in batch]
        if response.status_code != 200:
            return all_failed(batch, statuses.TECHNICAL_FAILURE, f"gateway HTTP {response.status_code}")
        try:
            by_id = {item["out_id"]: item for item in response.json()["results"]}
        except (ValueError, KeyError, TypeError):
            return all_failed(batch, statuses.TECHNICAL_FAILURE, "gateway answered malformed JSON")
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
