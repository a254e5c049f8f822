"""Issue 22, item 3: 12 slow-body POSTs held open on the receipt callback used to hold all 10 of notify's
workers, and its RPCs timed out. Now the bodies are read outside the pool, within a deadline."""

from nameko.standalone.rpc import ServiceRpcProxy

from tests.support.slow_http import read_until_closed, slow_body_post


def test_slow_receipt_bodies_leave_notify_answering_rpc(start_notify, token_for):
    notify = start_notify(gateway=False, HTTP_BODY_TIMEOUT_SECONDS=1)
    address = notify.config["WEB_SERVER_ADDRESS"]
    clients = [slow_body_post(address, "/callbacks/sms/receipts") for _ in range(12)]
    context = {"authorization": token_for("ops", "admin")}
    with ServiceRpcProxy("notify", notify.config, context_data=context, timeout=20) as proxy:  # catches a hang
        assert proxy.health()["status"] == "ok"
    answers = [read_until_closed(sock) for sock in clients]  # the server closes them after the deadline
    assert all(answer.startswith(b"HTTP/1.1 408") for answer in answers), answers[0]
