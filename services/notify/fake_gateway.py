"""A fake SMS gateway (and WeChat template-message API) for tests, the demo and benchmarks.

    python -m services.notify.fake_gateway --port 8090 --callback http://127.0.0.1:8004

It behaves like a typical Chinese SMS provider, on loopback only:
* `POST /sms/batch` takes up to 100 numbers a call (`{"apikey", "sign", "messages": [{"mobile", "content",
  "out_id"}]}`), refuses a wrong key (401), rate-limits with a token bucket counted in messages (429 with
  Retry-After), de-duplicates on `out_id` (a resend after a crash is not delivered twice), and later pushes
  delivery receipts in batches to `<callback>/callbacks/sms/receipts`.
* Magic numbers fail deterministically:
    13900000001  permanent failure      (receipt UNDELIV, err MK:0001 — the number does not exist)
    13900000002  temporary failure      (receipt UNDELIV, err MK:0012 for the first --temp-failures
                                          submissions, distinct out_ids, of each notification; then DELIVRD)
    13900000003  accepted, never a receipt
  Every other valid number is DELIVRD.
* WeChat: `GET /cgi-bin/token`, `POST /cgi-bin/message/template/send`; openid `o_blocked` gets a
  "failed:user block" push, `o_unfollowed` errcode 43004; pushes go to `<callback>/callbacks/wechat/receipts`.
* Alibaba Cloud SMS and Tencent Cloud SMS as their official SDKs speak them (`POST /` with `x-acs-action`
  or `X-TC-Action`; `fake_providers/aliyun.py`, `tencent.py`): signatures checked with the configured
  secrets and refused in the vendor's way, answers in the vendor's shapes, the same magic numbers, receipts
  pushed in the vendor's format to `<callback>/callbacks/aliyun/<token>/report` and
  `<callback>/callbacks/tencent/<token>/status`. Like the real ones, they do not de-duplicate. Their record
  queries answer from what they sent: Alibaba's `QuerySendDetails` and Tencent's
  `PullSmsSendStatusByPhoneNumber` / `PullSmsSendStatus` (a Tencent status only once its receipt is due).
* Every push to notify in our own format is signed (`callback_auth`: method, path, body, timestamp and a
  fresh nonce): SMS receipts and inbound replies with the API key, WeChat receipts with
  `--wechat-callback-key`; the vendors' pushes carry no signature (notify checks their path token instead).
* Test hooks: `GET /test/messages[?mobile=]` (what was sent), `GET /test/submissions[?out_id=]` (every
  SMS submitted, sent or not: `{"out_id", "result", "answer"}`), `GET /test/stats` (among them `calls`,
  our protocol's submission calls taken, and `<provider>_calls`, a vendor's), `POST /test/reset`,
  `POST /test/inbound` (`{"mobile", "content", "provider"?}`: a reply to our number, forwarded to
  `<callback>/callbacks/sms/inbound`, or as an SmsUp / reply callback push for `aliyun` / `tencent`).
* Faults: `POST /test/fault {"mode": "fail"|"hang"|"lose"|"ok", "seconds": N, "calls": C, "provider": P}`.
  The fault strikes the SMS submissions of protocol P (`gateway`, the default; `aliyun`; `tencent`) of the
  next N seconds, or the next C calls, whichever ends first (`calls` alone: no time limit). `fail` answers
  each with code 30 (system busy: a temporary failure, nothing sent; the vendors answer as their servers
  fail: HTTP 503, `InternalError`); `hang` holds each without an answer until the N seconds are over, then
  drops the connection (nothing sent); `lose` takes each as usual (sent, de-duplicated, receipts pushed)
  but drops the connection instead of answering: the sender cannot know it went. `balance` (aliyun,
  tencent) refuses each the way the vendor does when our account has no credit left (`isv.AMOUNT_NOT_ENOUGH`,
  `FailedOperation.InsufficientBalanceInSmsPackage`); `refuse` (aliyun, tencent; with `"code"`) refuses each
  with that vendor code, in the vendor's shape (Alibaba's `Code`, Tencent's `Response.Error`), nothing sent.
  `ok` ends a fault at once. `"on": "query"` aims the
  fault at the vendor's record queries instead of its submissions (counted in `/test/stats` as
  `<provider>_queries` and `<provider>_query_faults`).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import math
import re
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import requests

from services.notify import rules
from services.notify.callback_auth import sign_headers
from services.notify.fake_providers.aliyun import FakeAliyun
from services.notify.fake_providers.tencent import PULLS as TENCENT_PULLS
from services.notify.fake_providers.tencent import FakeTencent
from services.notify.fake_providers.tencent import error as tencent_error

PERMANENT_FAILURE_NUMBER = "13900000001"
TEMPORARY_FAILURE_NUMBER = "13900000002"
NO_RECEIPT_NUMBER = "13900000003"
BLOCKED_OPENID = "o_blocked"
UNFOLLOWED_OPENID = "o_unfollowed"
MAX_BATCH = 100
BUSY_CODE = 30  # "system busy, try later": a temporary failure of the whole submission
FAULT_MODES = ("ok", "fail", "hang", "lose", "balance", "refuse")
PROTOCOLS = ("gateway", "aliyun", "tencent")
# Tencent's SDK reads `Response.Error` only from an answer typed exactly application/json, as its API sends
TENCENT_JSON = {"Content-Type": "application/json"}
ALIYUN_NO_BALANCE = {"Code": "isv.AMOUNT_NOT_ENOUGH", "Message": "账户余额不足"}
MOBILE = re.compile(r"^1[3-9]\d{9}$")


class Gateway:
    def __init__(self, args):
        self.args = args
        self.bucket = rules.TokenBucket(args.rate, max(args.burst, MAX_BATCH))
        self.lock = threading.Lock()
        self.pending: list[tuple[float, str, dict]] = []  # (due, kind, receipt)
        self.wake = threading.Condition(self.lock)
        self.http = requests.Session()
        # per protocol: (mode, until monotonic, calls left)
        # per protocol, and per "<protocol>:query" for the vendors' record queries
        self.faults: dict[str, tuple[str, float, int | None]] = {
            key: ("ok", 0.0, None) for p in PROTOCOLS for key in (p, f"{p}:query")
        }
        self.vendors = {
            "aliyun": FakeAliyun({args.aliyun_key_id: args.aliyun_key_secret}, self.take),
            "tencent": FakeTencent(
                {args.tencent_secret_id: args.tencent_secret_key}, args.tencent_sdk_app_id, self.take
            ),
        }
        self.refusal_codes: dict[str, str] = {}  # the code a `refuse` fault answers, per protocol
        self.vendor_paths = {
            "aliyun": (f"/callbacks/aliyun/{args.aliyun_callback_token}/report",
                       f"/callbacks/aliyun/{args.aliyun_callback_token}/up"),
            "tencent": (f"/callbacks/tencent/{args.tencent_callback_token}/status",
                        f"/callbacks/tencent/{args.tencent_callback_token}/reply"),
        }  # fmt: skip
        self.reset()

    def set_fault(self, mode: str, seconds: float | None, calls: int | None, protocol: str = "gateway") -> None:
        until = math.inf if seconds is None else time.monotonic() + seconds
        with self.lock:
            self.faults[protocol] = (mode, until, calls)

    def take_fault(self, protocol: str = "gateway") -> tuple[str, float]:
        """The fault this SMS submission meets, ("fail" | "hang" | "lose", seconds left), or ("ok", 0);
        a fault limited to a number of calls counts this one."""
        with self.lock:
            mode, until, calls = self.faults[protocol]
            left = until - time.monotonic()
            if mode == "ok" or left <= 0 or calls == 0:
                return "ok", 0.0
            if calls is not None:
                self.faults[protocol] = (mode, until, calls - 1)
        return mode, left

    def reset(self):
        with self.lock:
            self.messages: list[dict] = []
            self.by_out_id: dict[str, str] = {}
            self.submissions: list[tuple[str, str, str]] = []  # (out_id, result, answer)
            self.receipts: dict[str, dict] = {}
            self.attempts: Counter = Counter()
            self.stats: Counter = Counter()
            self.pending.clear()
        for vendor in self.vendors.values():
            vendor.reset()

    # --- SMS --------------------------------------------------------------------------------------

    def submit(self, body: dict, fault: str = "ok") -> tuple[int, dict, dict]:
        """One `POST /sms/batch`; under a `lose` fault the answer is computed (and logged) but not sent."""
        if body.get("apikey") != self.args.api_key:
            return 401, {"code": 401, "msg": "invalid apikey"}, {}
        messages = body.get("messages") or []
        if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_BATCH:
            return 400, {"code": 10, "msg": f"1..{MAX_BATCH} messages a call"}, {}
        answer = "lost" if fault == "lose" else "answered"
        if fault == "fail":
            with self.lock:
                self.stats["busy_calls"] += 1
                self._log_submissions(messages, "busy", answer)
            busy = [{"out_id": str(m.get("out_id", "")), "code": BUSY_CODE, "msg": "system busy"} for m in messages]
            return 200, {"code": 0, "msg": "ok", "results": busy}, {}
        wait = self.bucket.try_take(len(messages))
        if wait > 0:
            with self.lock:
                self.stats["throttled_calls"] += 1
                self._log_submissions(messages, "throttled", answer)
            return 429, {"code": 429, "msg": "rate limited"}, {"Retry-After": f"{wait:.3f}"}
        results, now = [], time.monotonic()
        with self.lock:
            self.stats["calls"] += 1
            if fault == "lose":
                self.stats["lost_answers"] += 1
            for message in messages:
                result = self._accept(message, now)
                results.append(result)
                self.submissions.append((str(message.get("out_id", "")), result.pop("result"), answer))
            self.wake.notify()
        return 200, {"code": 0, "msg": "ok", "results": results}, {}

    def _log_submissions(self, messages: list, result: str, answer: str) -> None:
        self.submissions.extend((str(m.get("out_id", "")), result, answer) for m in messages)

    def _accept(self, message: dict, now: float) -> dict:
        mobile, out_id = str(message.get("mobile", "")), str(message.get("out_id", ""))
        if not MOBILE.match(mobile):
            self.stats["invalid"] += 1
            return {"out_id": out_id, "code": 21, "msg": "invalid mobile", "result": "refused"}
        if not message.get("content"):
            return {"out_id": out_id, "code": 23, "msg": "empty content", "result": "refused"}
        if out_id and out_id in self.by_out_id:  # a resend of the same submission: same answer, no second SMS
            self.stats["duplicates"] += 1
            receipt = self.receipts.get(out_id)
            if receipt is not None:  # the sender may have missed the first push: push it again
                self.pending.append((now + self.args.receipt_delay, "sms", receipt))
            return {"out_id": out_id, "code": 0, "msg": "ok", "msgid": self.by_out_id[out_id], "result": "duplicate"}
        msgid = uuid.uuid4().hex
        self.by_out_id[out_id] = msgid
        self.messages.append({"mobile": mobile, "content": message["content"], "out_id": out_id, "msgid": msgid})
        self.stats["accepted"] += 1
        fate = self._fate(mobile, out_id.rsplit(".", 1)[0])
        if fate == "silent":
            return {"out_id": out_id, "code": 0, "msg": "ok", "msgid": msgid, "result": "sent"}
        stat, err = {"delivered": ("DELIVRD", "000"), "permanent": ("UNDELIV", "MK:0001"),
                     "temporary": ("UNDELIV", "MK:0012")}[fate]  # fmt: skip
        receipt = {"out_id": out_id, "msgid": msgid, "mobile": mobile, "stat": stat, "err": err}
        self.receipts[out_id] = receipt
        self.pending.append((now + self.args.receipt_delay, "sms", receipt))
        return {"out_id": out_id, "code": 0, "msg": "ok", "msgid": msgid, "result": "sent"}

    def _fate(self, mobile: str, notification: str) -> str:
        """What becomes of a message taken: delivered | permanent | temporary | silent (no receipt ever)."""
        self.attempts[notification] += 1
        if mobile == NO_RECEIPT_NUMBER:
            return "silent"
        if mobile == PERMANENT_FAILURE_NUMBER:
            return "permanent"
        if mobile == TEMPORARY_FAILURE_NUMBER and self.attempts[notification] <= self.args.temp_failures:
            return "temporary"
        return "delivered"

    def take(self, provider: str, mobile: str, client_id: str, record: dict) -> tuple[str, float | None]:
        """A vendor fake sent one message: log it, decide its fate and queue the vendor's receipt. A call's
        client id is our out_id for one message, a token for several (then the number tells the notification).
        Returns the fate and the wall-clock time its receipt is due (None: never), for the vendor's records."""
        with self.lock:
            ours = client_id.rpartition(".")[2].isdigit()
            msgid = record.get("biz_id") or record.get("sid")
            self.messages.append(
                {
                    "mobile": mobile,
                    "content": record["content"],
                    "out_id": client_id,
                    "provider": provider,
                    "msgid": msgid,
                }
            )
            self.submissions.append((client_id, "sent", "answered"))
            self.stats["accepted"] += 1
            self.stats[f"{provider}_accepted"] += 1
            fate = self._fate(mobile, client_id.rsplit(".", 1)[0] if ours else f"{provider}:{mobile}")
            if fate == "silent":
                return fate, None
            report = self.vendors[provider].report(mobile, record, fate)
            self.pending.append((time.monotonic() + self.args.receipt_delay, provider, report))
            self.wake.notify()
        return fate, time.time() + self.args.receipt_delay

    # --- WeChat -----------------------------------------------------------------------------------

    def wechat_send(self, body: dict) -> dict:
        openid = str(body.get("touser", ""))
        if openid == UNFOLLOWED_OPENID:
            return {"errcode": 43004, "errmsg": "require subscribe"}
        msgid = str(int(time.time() * 1000) + len(self.messages))
        with self.lock:
            self.messages.append({"openid": openid, "content": json.dumps(body.get("data"), ensure_ascii=False),
                                  "out_id": body.get("client_msg_id"), "msgid": msgid})  # fmt: skip
            self.stats["wechat_accepted"] += 1
            status = "failed:user block" if openid == BLOCKED_OPENID else "success"
            self.pending.append(
                (time.monotonic() + self.args.receipt_delay, "wechat", {"msgid": msgid, "status": status})
            )
            self.wake.notify()
        return {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    # --- receipts ---------------------------------------------------------------------------------

    def receipt_loop(self):
        while True:
            try:
                self._push_due_receipts()
            except Exception as exc:  # keep pushing whatever went wrong with one batch
                print(f"fake gateway: receipt loop error {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
                time.sleep(0.5)

    def _push_due_receipts(self):
        paths = {"sms": "/callbacks/sms/receipts", "wechat": "/callbacks/wechat/receipts",
                 **{name: report for name, (report, _) in self.vendor_paths.items()}}  # fmt: skip
        while True:
            with self.lock:
                while not self.pending:
                    self.wake.wait(1.0)
                now = time.monotonic()
                due = [item for item in self.pending if item[0] <= now]
                if not due:
                    wait = min(item[0] for item in self.pending) - now
                    self.wake.wait(max(0.001, wait))
                    continue
                self.pending = [item for item in self.pending if item[0] > now]
            batches: dict[str, list[dict]] = defaultdict(list)
            for _, kind, receipt in due:
                batches[kind].append(receipt)
            for kind, receipts in batches.items():
                for start in range(0, len(receipts), self.args.receipt_batch):
                    self._post(paths[kind], receipts[start : start + self.args.receipt_batch], kind)

    def push(self, path: str, items: list[dict] | dict, timeout: float) -> requests.Response:
        """POST to notify: our own pushes signed with their channel's key over the exact bytes sent (each try
        signed afresh: notify refuses a nonce it has seen), a vendor's as the vendor pushes them (unsigned, to
        the secret path)."""
        body = json.dumps(items, ensure_ascii=False).encode()
        url = self.args.callback.rstrip("/") + path
        headers = {"Content-Type": "application/json"}
        if not path.startswith(("/callbacks/aliyun/", "/callbacks/tencent/")):
            key = self.args.wechat_callback_key if path.startswith("/callbacks/wechat/") else self.args.api_key
            headers.update(sign_headers(key, "POST", urlparse(url).path, body))
        return self.http.post(url, data=body, headers=headers, timeout=timeout)

    def _post(self, path: str, receipts: list[dict], kind: str):
        for attempt in range(30):
            try:
                response = self.push(path, receipts, timeout=30)
                if response.status_code == 200:
                    with self.lock:
                        self.stats[f"{kind}_receipts_posted"] += len(receipts)
                    return
                problem = f"HTTP {response.status_code}"
            except requests.RequestException as exc:
                problem = type(exc).__name__
            with self.lock:
                self.stats["receipt_post_failures"] += 1
            print(f"fake gateway: receipt push failed ({problem}); retrying", file=sys.stderr, flush=True)
            time.sleep(min(5.0, 0.2 * (attempt + 1)))
        with self.lock:
            self.stats["receipts_dropped"] += len(receipts)

    def forward_inbound(self, body: dict) -> int:
        provider = body.get("provider")
        if provider in self.vendors:
            reply = self.vendors[provider].reply(str(body.get("mobile", "")), str(body.get("content", "")))
            # Alibaba pushes SmsUp items as a list, Tencent one reply object a push
            return self.push(self.vendor_paths[provider][1], [reply] if provider == "aliyun" else reply, 10).status_code
        return self.push("/callbacks/sms/inbound", [body], timeout=10).status_code


def make_handler(gateway: Gateway):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go as separate writes: no 40 ms delayed-ACK stall

        def log_message(self, *args):  # quiet: numbers must not reach a log
            pass

        def _json(self, status: int, payload, headers: dict | None = None):
            data = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _raw(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def do_GET(self):
            url = urlparse(self.path)
            query = parse_qs(url.query)
            if url.path == "/cgi-bin/token":
                return self._json(200, {"access_token": "fake-token", "expires_in": 7200})
            if url.path == "/test/messages":
                with gateway.lock:
                    messages = list(gateway.messages)
                if "mobile" in query:
                    messages = [m for m in messages if m.get("mobile") == query["mobile"][0]]
                if "openid" in query:
                    messages = [m for m in messages if m.get("openid") == query["openid"][0]]
                return self._json(200, messages)
            if url.path == "/test/submissions":
                with gateway.lock:
                    rows = [{"out_id": o, "result": r, "answer": a} for o, r, a in gateway.submissions]
                if "out_id" in query:
                    rows = [row for row in rows if row["out_id"] == query["out_id"][0]]
                return self._json(200, rows)
            if url.path == "/test/stats":
                with gateway.lock:
                    return self._json(200, {**gateway.stats, "pending_receipts": len(gateway.pending)})
            return self._json(404, {"code": 404, "msg": "not found"})

        def _fault(self, body: dict):
            mode, seconds, calls = str(body.get("mode", "ok")), body.get("seconds"), body.get("calls")
            protocol = str(body.get("provider") or "gateway")
            target = str(body.get("on") or "send")
            if (
                mode not in FAULT_MODES
                or (mode == "hang" and seconds is None)
                or protocol not in PROTOCOLS
                or (mode in ("balance", "refuse") and protocol == "gateway")
                or (mode == "refuse" and not body.get("code"))
                or target not in ("send", "query")
                or (target == "query" and (protocol == "gateway" or mode in ("balance", "refuse")))
            ):
                msg = (f"mode one of {FAULT_MODES}; hang needs seconds; balance and refuse (with a code) are a"
                       " vendor's (aliyun, tencent); on: send | query (a vendor's record queries: fail, hang,"
                       " lose)")  # fmt: skip
                return self._json(400, {"code": 12, "msg": msg})
            if seconds is None and calls is None:
                seconds = 0
            seconds = None if seconds is None else float(seconds)
            key = protocol if target == "send" else f"{protocol}:query"
            if mode == "refuse":
                gateway.refusal_codes[protocol] = str(body["code"])
            gateway.set_fault(mode, seconds, None if calls is None else int(calls), key)
            return self._json(200, {"ok": True})

        def _submission(self, protocol: str, answer):
            """One SMS submission under whatever fault its protocol meets; `answer(fault)` -> (status, payload,
            headers) does the work."""
            fault, left = gateway.take_fault(protocol)
            if fault == "hang":  # no answer at all; the sender's read timeout is what ends its wait
                time.sleep(left)
                self.close_connection = True
                return None
            status, payload, headers = answer(fault)
            if fault == "lose":  # taken, but the answer never reaches the sender
                self.close_connection = True
                return None
            return self._json(status, payload, headers)

        def _vendor(self, protocol: str, raw: bytes, query: bool = False):
            vendor = gateway.vendors[protocol]
            url = urlparse(self.path)

            def answer(fault):
                with gateway.lock:
                    if query:
                        gateway.stats[f"{protocol}_queries"] += 1
                        gateway.stats[f"{protocol}_query_faults"] += fault != "ok"
                    else:
                        gateway.stats[f"{protocol}_calls"] += 1
                if fault == "fail":  # the vendor's servers failing: nothing sent
                    if protocol == "aliyun":
                        return 503, {"Code": "ServiceUnavailable", "Message": "The service is unavailable."}, {}
                    return 200, tencent_error("InternalError", "An internal error occurred."), TENCENT_JSON
                if fault == "balance":  # our account is out of credit: every call refused, nothing sent
                    if protocol == "aliyun":
                        return 200, {**ALIYUN_NO_BALANCE, "RequestId": str(uuid.uuid4())}, {}
                    refused = tencent_error("FailedOperation.InsufficientBalanceInSmsPackage", "套餐包余量不足。")
                    return 200, refused, TENCENT_JSON
                if fault == "refuse":  # a vendor code, as the vendor answers it: nothing sent
                    code = gateway.refusal_codes[protocol]
                    if protocol == "aliyun":
                        return 200, {"Code": code, "Message": code, "RequestId": str(uuid.uuid4())}, {}
                    return 200, tencent_error(code, code), TENCENT_JSON
                status, payload = vendor.handle("POST", url.path, url.query, self.headers, raw)
                return status, payload, TENCENT_JSON if protocol == "tencent" else {}

            return self._submission(f"{protocol}:query" if query else protocol, answer)

        def do_POST(self):
            url = urlparse(self.path)
            raw = self._raw()
            if self.headers.get("x-acs-action"):
                return self._vendor("aliyun", raw, self.headers.get("x-acs-action") == "QuerySendDetails")
            if self.headers.get("X-TC-Action"):
                return self._vendor("tencent", raw, self.headers.get("X-TC-Action") in TENCENT_PULLS)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                return self._json(400, {"code": 11, "msg": "malformed JSON"})
            if url.path == "/sms/batch":
                return self._submission("gateway", lambda fault: gateway.submit(body, fault))
            if url.path == "/cgi-bin/message/template/send":
                return self._json(200, gateway.wechat_send(body))
            if url.path == "/test/reset":
                gateway.reset()
                return self._json(200, {"ok": True})
            if url.path == "/test/fault":
                return self._fault(body)
            if url.path == "/test/inbound":
                return self._json(200, {"forwarded": gateway.forward_inbound(body)})
            return self._json(404, {"code": 404, "msg": "not found"})

    return Handler


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m services.notify.fake_gateway", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="loopback only")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--callback", required=True, help="notify's base URL, e.g. http://127.0.0.1:8004")
    parser.add_argument("--api-key", default="dev-gateway-key", help="also signs the SMS receipts and replies")
    parser.add_argument("--wechat-callback-key", default="dev-wechat-callback-key", help="signs WeChat receipts")
    parser.add_argument("--rate", type=float, default=1000.0, help="messages a second (token bucket)")
    parser.add_argument("--burst", type=float, default=1000.0)
    parser.add_argument("--receipt-delay", type=float, default=0.05, help="seconds before a receipt is pushed")
    parser.add_argument("--receipt-batch", type=int, default=1000)
    parser.add_argument("--temp-failures", type=int, default=1, help="failed submissions before 13900000002 delivers")
    # the vendors' credentials it checks signatures with, and the secret path tokens it pushes to: the
    # defaults are notify's development defaults (services/notify/config.yaml)
    parser.add_argument("--aliyun-key-id", default="dev-aliyun-key-id")
    parser.add_argument("--aliyun-key-secret", default="dev-aliyun-key-secret")
    parser.add_argument("--aliyun-callback-token", default="dev-aliyun-callback")
    parser.add_argument("--tencent-secret-id", default="dev-tencent-secret-id")
    parser.add_argument("--tencent-secret-key", default="dev-tencent-secret-key")
    parser.add_argument("--tencent-sdk-app-id", default="1400000000")
    parser.add_argument("--tencent-callback-token", default="dev-tencent-callback")
    args = parser.parse_args(argv)
    if not ipaddress.ip_address(args.host).is_loopback:
        parser.error("the fake gateway listens on loopback only")
    return args


def serve(args) -> ThreadingHTTPServer:
    gateway = Gateway(args)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(gateway))
    server.daemon_threads = True
    threading.Thread(target=gateway.receipt_loop, daemon=True, name="receipts").start()
    return server


def main(argv=None) -> int:
    args = parse_args(argv if argv is not None else sys.argv[1:])
    server = serve(args)
    print(f"fake gateway on http://{args.host}:{args.port}, receipts to {args.callback}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
