"""Three notify replicas on one database, one broadcast: each recipient is recorded once and sent one SMS,
while the recording job passes from a replica that dies mid-broadcast to the others' job runners, whose
dispatchers claim from the same rows — against the fake gateway over real HTTP. (How the sending splits
between replicas is test_send_rate.py's.)"""

from collections import Counter

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
        "JOB_CHUNK_SIZE": PAGE,
        "DISPATCH_CLAIM_SIZE": 50,
        "DISPATCH_LEASE_SECONDS": LEASE_SECONDS,
        # an answer later than the timeout is a lost answer, and its batch is sent again (the gateway counts a
        # duplicate, the resident still gets one SMS): on a loaded machine 10 s was once not enough
        "SMS_GATEWAY_TIMEOUT_SECONDS": 60,
    }
    # the first replica's loops are driven by hand, so it is the one that starts the recording
    recorder = start_notify(gateway=False, at=DAYTIME, DISPATCH_ENABLED=False, JOBS_ENABLED=False, **settings)
    admin = token_for("admin", "admin")
    recorder.add_contacts(CONTACTS)
    with recorder.rpc(admin) as rpc:
        broadcast = rpc.broadcast("policy_notice", {"all": True}, TITLE)
    assert recorder.jobs.step() and recorder.jobs.step()
    recorder.container.kill()  # dies mid-broadcast, 100 of 600 recorded

    # the others' runners find the job at their start and carry it on from its committed cursor
    survivor = start_notify(gateway=False, at=DAYTIME, WEB_SERVER_ADDRESS=f"127.0.0.1:{survivor_port}", **settings)
    start_notify(gateway=False, at=DAYTIME, **settings)  # the third replica
    # the clocks tick on from DAYTIME, never jumping: a jump past the dispatch lease (60 s) would let one
    # replica claim again a batch the other has just handed to the gateway (the recorder, whose dispatcher
    # never ran, held none), which is what made this test resubmit 50 messages once on a loaded machine

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
