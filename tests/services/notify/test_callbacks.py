"""Provider callbacks are signed (HMAC-SHA256 over timestamp and raw body with the gateway key) and
refuse anything else with a 4xx that carries no exception text. /health and /metrics likewise. That the
fake gateway's signed pushes are accepted is shown by every delivery test that waits for a receipt."""

import json
import time

import pytest
import requests

from services.notify import callback_auth

KEY = "dev-gateway-key"
CALLBACKS = ("/callbacks/sms/receipts", "/callbacks/wechat/receipts", "/callbacks/sms/inbound")
RECEIPTS = [{"out_id": "n-1.1", "msgid": "m-1", "stat": "DELIVRD", "err": "000"}]


def signed(body: bytes, key: str = KEY, now: float | None = None) -> dict:
    return {"Content-Type": "application/json", **callback_auth.sign_headers(key, body, now=now)}


def assert_refused_cleanly(response, status: int) -> None:
    assert response.status_code == status, response.text
    text = response.text
    assert "Traceback" not in text and "Error(" not in text and 'File "' not in text, text


def test_verify_accepts_only_a_fresh_signature_with_the_key():
    body = json.dumps(RECEIPTS).encode()
    now = 1_767_225_600
    headers = callback_auth.sign_headers(KEY, body, now=now)
    assert callback_auth.verify(KEY, body, headers, now=now + 10)
    assert not callback_auth.verify("another-key", body, headers, now=now)
    assert not callback_auth.verify(KEY, body + b" ", headers, now=now)  # the body was changed
    assert not callback_auth.verify(KEY, body, headers, now=now + callback_auth.TOLERANCE_SECONDS + 1)  # replayed
    assert not callback_auth.verify(KEY, body, {}, now=now)
    assert not callback_auth.verify("", body, headers, now=now)  # no key configured: nothing verifies
    retimed = {**headers, callback_auth.TIMESTAMP_HEADER: str(now + 60)}  # the MAC covers the timestamp
    assert not callback_auth.verify(KEY, body, retimed, now=now + 60)
    odd = {**headers, callback_auth.SIGNATURE_HEADER: "é" * 64}
    assert not callback_auth.verify(KEY, body, odd, now=now)


@pytest.fixture
def notify(start_notify):
    return start_notify(gateway=False, SMS_GATEWAY_KEY=KEY, HTTP_MAX_BODY_BYTES=64 * 1024)


@pytest.mark.parametrize("path", CALLBACKS)
def test_unsigned_forged_and_stale_callbacks_are_refused(notify, path):
    url = notify.base_url + path
    body = json.dumps(RECEIPTS).encode()
    unsigned = requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=10)
    forged = requests.post(url, data=body, headers=signed(body, key="guessed-key"), timeout=10)
    stale = requests.post(url, data=body, headers=signed(body, now=time.time() - 3600), timeout=10)
    tampered_headers = signed(body)
    tampered = requests.post(url, data=body.replace(b"DELIVRD", b"UNDELIV"), headers=tampered_headers, timeout=10)
    for response in (unsigned, forged, stale, tampered):
        assert_refused_cleanly(response, 401)
    assert requests.post(url, data=body, headers=signed(body), timeout=10).status_code == 200


@pytest.mark.parametrize("path", CALLBACKS)
def test_malformed_callbacks_get_a_4xx_without_exception_text(notify, path):
    url = notify.base_url + path
    for raw, status in ((b"{not json", 400), (b'"just a string"', 400), (b"[1, 2]", 400), (b"\xff\xfe", 400)):
        assert_refused_cleanly(requests.post(url, data=raw, headers=signed(raw), timeout=10), status)
    text = b"out_id=n-1.1"
    headers = {**signed(text), "Content-Type": "application/x-www-form-urlencoded"}
    assert_refused_cleanly(requests.post(url, data=text, headers=headers, timeout=10), 415)
    assert_refused_cleanly(requests.get(url, timeout=10), 405)
    assert_refused_cleanly(requests.put(url, data=b"[]", headers=signed(b"[]"), timeout=10), 405)


@pytest.mark.parametrize("path", (*CALLBACKS, "/health", "/metrics"))
def test_oversized_bodies_are_refused_before_they_are_read(notify, path):
    huge = b"[" + b'{"out_id": "x"},' * 10_000 + b"{}]"
    method = requests.get if path in ("/health", "/metrics") else requests.post
    assert_refused_cleanly(method(notify.base_url + path, data=huge, headers=signed(huge), timeout=10), 413)

    def chunks():  # no Content-Length at all
        for _ in range(100):
            yield b" " * 4096

    if path in CALLBACKS:
        response = requests.post(notify.base_url + path, data=chunks(), headers=signed(b""), timeout=10)
        assert_refused_cleanly(response, 411)


@pytest.mark.parametrize("path", ("/health", "/metrics"))
def test_health_and_metrics_refuse_other_methods(notify, path):
    assert_refused_cleanly(requests.post(notify.base_url + path, data=b"{", timeout=10), 405)
    assert_refused_cleanly(requests.delete(notify.base_url + path, timeout=10), 405)
    assert requests.get(notify.base_url + path, timeout=10).status_code == 200
