"""Provider callbacks are signed (HMAC-SHA256 over method, path, timestamp, nonce and raw body, with the
channel's key), single-use, and anything else is refused with a 4xx that carries no exception text; /health
and /metrics likewise. That the fake gateway's signed pushes are accepted is shown by every delivery test that
waits for a receipt. The attacks run against a real notify (SQLite and PostgreSQL) and leave nothing stored."""

import json
import time

import pytest
import requests
from sqlalchemy import func, select

from services.notify import callback_auth
from services.notify.models import CallbackNonce, EarlyReceipt, OptOut
from shared.platform.db import make_engine

KEY = "dev-gateway-key"
WECHAT_KEY = "dev-wechat-callback-key"
CALLBACKS = ("/callbacks/sms/receipts", "/callbacks/wechat/receipts", "/callbacks/sms/inbound")
KEYS = {"/callbacks/sms/receipts": KEY, "/callbacks/wechat/receipts": WECHAT_KEY, "/callbacks/sms/inbound": KEY}
RECEIPTS = [{"out_id": "n-1.1", "msgid": "m-1", "stat": "DELIVRD", "err": "000"}]
NOW = 1_767_225_600


def signed(body: bytes, path: str, key: str | None = None, now: float | None = None, method: str = "POST") -> dict:
    key = KEYS[path] if key is None else key
    return {"Content-Type": "application/json", **callback_auth.sign_headers(key, method, path, body, now=now)}


def assert_refused_cleanly(response, status: int) -> None:
    assert response.status_code == status, response.text
    text = response.text
    assert "Traceback" not in text and "Error(" not in text and 'File "' not in text, text


def stored(notify) -> dict[str, int]:
    """What a callback can leave in notify's database: spent nonces, receipts waiting for their message,
    opt-outs."""
    engine = make_engine(notify.config["DATABASE_URL"])
    with engine.connect() as connection:
        counts = {
            model.__tablename__: connection.scalar(select(func.count()).select_from(model))
            for model in (CallbackNonce, EarlyReceipt, OptOut)
        }
    engine.dispose()
    return counts


def test_verify_accepts_only_a_fresh_signature_with_the_key_for_this_method_and_path():
    body, path = json.dumps(RECEIPTS).encode(), CALLBACKS[0]
    headers = callback_auth.sign_headers(KEY, "POST", path, body, now=NOW)
    verified = callback_auth.verify(KEY, "POST", path, body, headers, now=NOW + 10)
    assert verified and verified.nonce == headers[callback_auth.NONCE_HEADER]
    assert verified.expires_at > NOW + callback_auth.TOLERANCE_SECONDS
    assert not callback_auth.verify("another-key", "POST", path, body, headers, now=NOW)
    assert not callback_auth.verify(KEY, "POST", path, body + b" ", headers, now=NOW)  # the body was changed
    assert not callback_auth.verify(KEY, "POST", CALLBACKS[2], body, headers, now=NOW)  # another endpoint
    assert not callback_auth.verify(KEY, "PUT", path, body, headers, now=NOW)  # another method
    assert not callback_auth.verify(KEY, "POST", path, body, headers, now=NOW + callback_auth.TOLERANCE_SECONDS + 1)
    assert not callback_auth.verify(KEY, "POST", path, body, {}, now=NOW)
    assert not callback_auth.verify("", "POST", path, body, headers, now=NOW)  # no key configured: nothing verifies
    retimed = {**headers, callback_auth.TIMESTAMP_HEADER: str(NOW + 60)}  # the MAC covers the timestamp
    assert not callback_auth.verify(KEY, "POST", path, body, retimed, now=NOW + 60)
    renonced = {**headers, callback_auth.NONCE_HEADER: "f" * 32}  # and the nonce
    assert not callback_auth.verify(KEY, "POST", path, body, renonced, now=NOW)
    assert callback_auth.sign_headers(KEY, "POST", path, body, now=NOW) != headers  # a new nonce each time


# each is refused as unsigned (401): never a 500, whatever a header holds
MALFORMED = {
    "no headers": lambda h: {},
    "signature without scheme": lambda h: {**h, "X-Signature": h["X-Signature"].removeprefix("v1=")},
    "signature upper-case": lambda h: {**h, "X-Signature": h["X-Signature"].upper()},
    "signature not hex": lambda h: {**h, "X-Signature": "v1=" + "g" * 64},
    "signature non-ASCII": lambda h: {**h, "X-Signature": "v1=" + "é" * 64},
    "signature huge": lambda h: {**h, "X-Signature": "v1=" + "a" * 6000},
    "timestamp superscript digit": lambda h: {**h, "X-Timestamp": "²" * 10},
    "timestamp negative": lambda h: {**h, "X-Timestamp": "-1"},
    "timestamp float": lambda h: {**h, "X-Timestamp": h["X-Timestamp"] + ".5"},
    "timestamp too long": lambda h: {**h, "X-Timestamp": "9" * 40},
    "nonce missing": lambda h: {k: v for k, v in h.items() if k != "X-Nonce"},
    "nonce too short": lambda h: {**h, "X-Nonce": "abc"},
    "nonce with a percent-escape": lambda h: {**h, "X-Nonce": h["X-Nonce"][:8] + "%0a" + h["X-Nonce"][8:]},
    "nonce non-ASCII": lambda h: {**h, "X-Nonce": "ü" * 32},
}


@pytest.fixture
def notify(start_notify):
    return start_notify(
        gateway=False, SMS_GATEWAY_KEY=KEY, WECHAT_CALLBACK_KEY=WECHAT_KEY, HTTP_MAX_BODY_BYTES=64 * 1024
    )


@pytest.mark.parametrize("path", CALLBACKS)
def test_unsigned_forged_stale_and_malformed_callbacks_are_refused_and_store_nothing(notify, path):
    url = notify.base_url + path
    body = json.dumps(RECEIPTS).encode()
    refused = {
        "unsigned": {"Content-Type": "application/json"},
        "forged": signed(body, path, key="guessed-key"),
        "stale": signed(body, path, now=time.time() - 3600),
        "signed for another endpoint": signed(body, next(p for p in CALLBACKS if p != path)),
        **{
            kind: {"Content-Type": "application/json", **spoil(signed(body, path))} for kind, spoil in MALFORMED.items()
        },
    }
    for kind, headers in refused.items():
        response = requests.post(url, data=body, headers=headers, timeout=10)
        assert response.status_code == 401, (kind, response.status_code, response.text)
        assert_refused_cleanly(response, 401)
    tampered = requests.post(url, data=body.replace(b"DELIVRD", b"UNDELIV"), headers=signed(body, path), timeout=10)
    assert_refused_cleanly(tampered, 401)
    assert stored(notify) == {"callback_nonces": 0, "early_receipts": 0, "opt_outs": 0}
    assert requests.post(url, data=body, headers=signed(body, path), timeout=10).status_code == 200


def test_each_channel_has_its_own_key(notify):
    """The SMS gateway's key cannot sign a WeChat receipt, nor WeChat's an SMS one."""
    wechat = json.dumps([{"msgid": "w-1", "status": "success"}]).encode()
    sms_path, wechat_path = "/callbacks/sms/receipts", "/callbacks/wechat/receipts"
    for path, body, key in ((wechat_path, wechat, KEY), (sms_path, json.dumps(RECEIPTS).encode(), WECHAT_KEY)):
        response = requests.post(notify.base_url + path, data=body, headers=signed(body, path, key=key), timeout=10)
        assert_refused_cleanly(response, 401)
    assert stored(notify) == {"callback_nonces": 0, "early_receipts": 0, "opt_outs": 0}


def test_a_replayed_receipt_is_refused_and_changes_nothing(notify):
    path = "/callbacks/sms/receipts"
    body = json.dumps([{"out_id": "n-9.1", "msgid": "m-9", "stat": "UNDELIV", "err": "MK:0001"}]).encode()
    headers = signed(body, path)
    assert requests.post(notify.base_url + path, data=body, headers=headers, timeout=10).status_code == 200
    after_first = stored(notify)
    assert after_first == {"callback_nonces": 1, "early_receipts": 1, "opt_outs": 0}
    replay = requests.post(notify.base_url + path, data=body, headers=headers, timeout=10)
    assert_refused_cleanly(replay, 401)
    assert replay.json() == {"error": "replayed callback"}
    assert stored(notify) == after_first


def test_a_replayed_opt_out_is_refused(notify):
    """A captured "TD" reply, replayed after the resident opted in again, would silence them once more."""
    path = "/callbacks/sms/inbound"
    body = json.dumps([{"mobile": "13800001111", "content": "TD"}]).encode()
    headers = signed(body, path)
    assert requests.post(notify.base_url + path, data=body, headers=headers, timeout=10).json()["opted_out"] == 1
    engine = make_engine(notify.config["DATABASE_URL"])
    with engine.begin() as connection:
        connection.execute(OptOut.__table__.delete())  # the resident opted in again
    engine.dispose()
    assert_refused_cleanly(requests.post(notify.base_url + path, data=body, headers=headers, timeout=10), 401)
    assert stored(notify)["opt_outs"] == 0


def test_spent_nonces_are_dropped_once_their_window_has_closed(notify):
    path = "/callbacks/sms/receipts"
    body = json.dumps([]).encode()
    old = signed(body, path, now=time.time() - callback_auth.TOLERANCE_SECONDS + 2)
    assert requests.post(notify.base_url + path, data=body, headers=old, timeout=10).status_code == 200
    assert stored(notify)["callback_nonces"] == 1
    time.sleep(4)  # the first push's window closes
    assert requests.post(notify.base_url + path, data=body, headers=signed(body, path), timeout=10).status_code == 200
    assert stored(notify)["callback_nonces"] == 1


@pytest.mark.parametrize("path", CALLBACKS)
def test_malformed_callbacks_get_a_4xx_without_exception_text(notify, path):
    url = notify.base_url + path
    for raw, status in ((b"{not json", 400), (b'"just a string"', 400), (b"[1, 2]", 400), (b"\xff\xfe", 400)):
        assert_refused_cleanly(requests.post(url, data=raw, headers=signed(raw, path), timeout=10), status)
    text = b"out_id=n-1.1"
    headers = {**signed(text, path), "Content-Type": "application/x-www-form-urlencoded"}
    assert_refused_cleanly(requests.post(url, data=text, headers=headers, timeout=10), 415)
    assert_refused_cleanly(requests.get(url, timeout=10), 405)
    assert_refused_cleanly(requests.put(url, data=b"[]", headers=signed(b"[]", path, method="PUT"), timeout=10), 405)


@pytest.mark.parametrize("path", (*CALLBACKS, "/health", "/metrics"))
def test_oversized_bodies_are_refused_before_they_are_read(notify, path):
    huge = b"[" + b'{"out_id": "x"},' * 10_000 + b"{}]"
    method = requests.get if path in ("/health", "/metrics") else requests.post
    headers = signed(huge, path) if path in CALLBACKS else {}
    assert_refused_cleanly(method(notify.base_url + path, data=huge, headers=headers, timeout=10), 413)

    def chunks():  # no Content-Length at all
        for _ in range(100):
            yield b" " * 4096

    if path in CALLBACKS:
        response = requests.post(notify.base_url + path, data=chunks(), headers=signed(b"", path), timeout=10)
        assert_refused_cleanly(response, 411)


@pytest.mark.parametrize("path", ("/health", "/metrics"))
def test_health_and_metrics_refuse_other_methods(notify, path):
    assert_refused_cleanly(requests.post(notify.base_url + path, data=b"{", timeout=10), 405)
    assert_refused_cleanly(requests.delete(notify.base_url + path, timeout=10), 405)
    assert requests.get(notify.base_url + path, timeout=10).status_code == 200


def test_receipts_ahead_of_their_message_are_kept_once_each_the_latest_code_winning(notify):
    path = "/callbacks/sms/receipts"

    def push(receipts):
        body = json.dumps(receipts).encode()
        return requests.post(notify.base_url + path, data=body, headers=signed(body, path), timeout=10)

    ahead = [{"out_id": f"n-{i}.1", "msgid": f"m-{i}", "code": "first"} for i in range(20, 25)]  # the log provider's
    assert push(ahead + ahead[:1]).status_code == 200  # one push may carry the same receipt twice
    assert push([{**ahead[0], "code": "again"}]).status_code == 200  # and a later push again
    engine = make_engine(notify.config["DATABASE_URL"])
    with engine.connect() as connection:
        kept = dict(connection.execute(select(EarlyReceipt.out_id, EarlyReceipt.code)).all())
    engine.dispose()
    assert kept == {"n-20.1": "log:again", **{f"n-{i}.1": "log:first" for i in range(21, 25)}}
