"""Three notify replicas on one database, one broadcast: each recipient is recorded once and sent one SMS,
while the recording passes from a replica that dies mid-broadcast to the others, whose dispatchers claim
from the same rows — against the fake gateway over real HTTP. (How the sending splits between replicas is
test_send_rate.py's.)"""

from collections import Counter
from datetime import timedelta

import requests
from nameko.testing.utils import find_free_port
from sqlalchemy import func, select

from services.notify.models import Notification
from shared.platform.db import make_engine
from tests.services.notify.conftest import DAYTIME
from tests.services.notify.test_broadcast import TITLE, completed, progress_when

CONTACTS, PAGE = 600, 50
LEASE_SECONDS = 60  # no claim outlives it on a loaded machine; the test moves the clocks past it


def test_three_replicas_record_and_send_a_broadcast_once_each_though_the_recorder_dies(
    start_notify, fake_gateway, token_for
):
    survivor_port = find_free_port()
    gateway = fake_gateway(f"http://127.0.0.1:{survivor_port}")  # receipts go to a replica that stays up
    settings = {
        "SMS_PROVIDER": "gateway",
        "SMS_GATEWAY_URL": gateway,
        "SMS_GATEWAY_KEY": "dev-gateway-key",
        "BROADCAST_PAGE_SIZE": PAGE,
        "DISPATCH_CLAIM_SIZE": 50,
        "DISPATCH_LEASE_SECONDS": LEASE_SECONDS,
        # an answer later than the timeout is a lost answer, and its batch is sent again (the gateway counts a
        # duplicate, the resident still gets one SMS): on a loaded machine 10 s was once not enough
        "SMS_GATEWAY_TIMEOUT_SECONDS": 60,
    }
    # the first replica's loops are driven by hand, so it is the one that starts the recording
    recorder = start_notify(gateway=False, at=DAYTIME, DISPATCH_ENABLED=False, **settings)
    admin = token_for("admin", "admin")
    recorder.add_contacts(CONTACTS)
    with recorder.rpc(admin) as rpc:
        broadcast = rpc.broadcast("policy_notice", {"all": True}, TITLE)
    assert recorder.courier.record_broadcast_page() == PAGE
    assert recorder.courier.record_broadcast_page() == PAGE

    # the others' clocks stand at DAYTIME, before the recorder's lease ends however long their start took
    survivor = start_notify(gateway=False, at=DAYTIME, WEB_SERVER_ADDRESS=f"127.0.0.1:{survivor_port}", **settings)
    survivor.clock.frozen = DAYTIME
    assert survivor.courier.record_broadcast_page() == 0  # the recorder's lease keeps the others off
    third = start_notify(gateway=False, at=DAYTIME, **settings)
    third.clock.frozen = DAYTIME
    recorder.container.kill()  # dies holding the lease, 100 of 600 recorded
    for replica in (survivor, third):  # past the lease: the others take the recording over
        replica.clock.start_at(DAYTIME + timedelta(minutes=10))

    progress = progress_when(survivor, admin, broadcast["id"], completed, timeout=120)
    assert progress["recorded"] == CONTACTS and progress["by_status"]["delivered"] == CONTACTS
    assert set(recorded_per_resident(survivor, broadcast["id"]).values()) == {1}
    assert len(recorded_per_resident(survivor, broadcast["id"])) == CONTACTS

    sent = Counter(message["mobile"] for message in requests.get(f"{gateway}/test/messages", timeout=5).json())
    assert len(sent) == CONTACTS and set(sent.values()) == {1}
    assert requests.get(f"{gateway}/test/stats", timeout=5).json().get("duplicates", 0) == 0  # none even resubmitted


def recorded_per_resident(notify, broadcast_id: str) -> dict[str, int]:
    engine = make_engine(notify.config["DATABASE_URL"])
    with engine.connect() as connection:
        rows = connection.execute(
            select(Notification.resident_id, func.count())
            .where(Notification.broadcast_id == broadcast_id)
            .group_by(Notification.resident_id)
        ).all()
    engine.dispose()
    return dict(rows)
