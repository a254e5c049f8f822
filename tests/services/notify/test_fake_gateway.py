"""The fake gateway behaves like a provider: batch limit, key check, rate limit, de-duplication, loopback only."""

import pytest
import requests

from services.notify.fake_gateway import BUSY_CODE, parse_args


def batch(count, start=0, key="dev-gateway-key"):
    messages = [
        {"mobile": f"137{i:08d}", "content": "【慈溪新市民】测试", "out_id": f"n{i}.1"}
        for i in range(start, start + count)
    ]
    return {"apikey": key, "sign": "【慈溪新市民】", "messages": messages}


def test_batches_keys_rate_limit_and_duplicates(fake_gateway):
    url = fake_gateway("http://127.0.0.1:9", rate=100, burst=100)
    post = lambda body: requests.post(f"{url}/sms/batch", json=body, timeout=5)  # noqa: E731
    assert post(batch(101)).status_code == 400
    assert post(batch(1, key="wrong")).status_code == 401
    first = post(batch(100))
    assert first.status_code == 200 and all(r["code"] == 0 for r in first.json()["results"])
    throttled = post(batch(100, start=100))
    assert throttled.status_code == 429 and float(throttled.headers["Retry-After"]) > 0
    stats = requests.get(f"{url}/test/stats", timeout=5).json()
    assert stats["accepted"] == 100 and stats["throttled_calls"] == 1


def test_a_resend_of_the_same_out_id_is_not_a_second_message(fake_gateway):
    url = fake_gateway("http://127.0.0.1:9")
    body = batch(3)
    first = requests.post(f"{url}/sms/batch", json=body, timeout=5).json()["results"]
    again = requests.post(f"{url}/sms/batch", json=body, timeout=5).json()["results"]
    assert [r["msgid"] for r in first] == [r["msgid"] for r in again]
    assert len(requests.get(f"{url}/test/messages", timeout=5).json()) == 3
    bad = {"apikey": "dev-gateway-key", "messages": [{"mobile": "12345", "content": "x", "out_id": "bad.1"}]}
    assert requests.post(f"{url}/sms/batch", json=bad, timeout=5).json()["results"][0]["code"] == 21


def test_outages_fail_or_hang_every_submission_for_a_while_then_end(fake_gateway):
    url = fake_gateway("http://127.0.0.1:9")
    requests.post(f"{url}/test/fault", json={"mode": "fail", "seconds": 30}, timeout=5)
    busy = requests.post(f"{url}/sms/batch", json=batch(2), timeout=5).json()["results"]
    assert [r["code"] for r in busy] == [BUSY_CODE, BUSY_CODE]
    requests.post(f"{url}/test/fault", json={"mode": "hang", "seconds": 30}, timeout=5)
    with pytest.raises(requests.Timeout):
        requests.post(f"{url}/sms/batch", json=batch(2), timeout=0.5)
    requests.post(f"{url}/test/fault", json={"mode": "ok"}, timeout=5)
    sent = requests.post(f"{url}/sms/batch", json=batch(2), timeout=5).json()["results"]
    assert [r["code"] for r in sent] == [0, 0]
    assert len(requests.get(f"{url}/test/messages", timeout=5).json()) == 2  # nothing went during the outages


def test_loopback_only():
    with pytest.raises(SystemExit):
        parse_args(["--host", "0.0.0.0", "--callback", "http://127.0.0.1:1"])


def test_a_lost_answer_was_still_taken_and_a_resend_gets_it(fake_gateway):
    url = fake_gateway("http://127.0.0.1:9")
    requests.post(f"{url}/test/fault", json={"mode": "lose", "calls": 1}, timeout=5)
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{url}/sms/batch", json=batch(1), timeout=5)
    again = requests.post(f"{url}/sms/batch", json=batch(1), timeout=5).json()["results"]
    sent = requests.get(f"{url}/test/messages", timeout=5).json()
    assert len(sent) == 1 and again[0]["code"] == 0 and again[0]["msgid"] == sent[0]["msgid"]
    submissions = requests.get(f"{url}/test/submissions", timeout=5).json()
    assert submissions == [
        {"out_id": "n0.1", "result": "sent", "answer": "lost"},
        {"out_id": "n0.1", "result": "duplicate", "answer": "answered"},
    ]


def test_a_fault_can_be_limited_to_a_number_of_calls(fake_gateway):
    url = fake_gateway("http://127.0.0.1:9")
    requests.post(f"{url}/test/fault", json={"mode": "fail", "calls": 2}, timeout=5)
    codes = [requests.post(f"{url}/sms/batch", json=batch(1), timeout=5).json()["results"][0]["code"] for _ in "abc"]
    assert codes == [BUSY_CODE, BUSY_CODE, 0]
    refused = requests.post(f"{url}/test/fault", json={"mode": "hang", "calls": 1}, timeout=5)
    assert refused.status_code == 400  # a hang needs its length
