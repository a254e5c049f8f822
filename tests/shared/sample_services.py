"""Two small services that exercise the shared mechanisms the way the real ones do."""

from collections import Counter
from datetime import datetime

from sqlalchemy import String, select, update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.platform.audit import Audit, case_history
from shared.platform.auth import requires
from shared.platform.batch_consumer import subscribe
from shared.platform.contracts import DataSchema, fields, register, registry
from shared.platform.db import Database
from shared.platform.event_consumer import event_consumer
from shared.platform.jobs import JobColumns, JobRunner
from shared.platform.models import UtcDateTime
from shared.platform.outbox import Outbox
from shared.platform.retention import RetentionRule
from shared.platform.rpc import rpc
from shared.platform.service import PlatformService

ATTEMPTS: Counter = Counter()  # handler invocations per key, in this test process
GATES: dict = {}  # eventlet Events a test opens to let `pass_gate` answer


class SampleBase(DeclarativeBase):
    pass


class Case(SampleBase):
    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(50), primary_key=True)
    state: Mapped[str] = mapped_column(String(20))


class Contact(SampleBase):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    closed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SampleJob(JobColumns, SampleBase):
    __tablename__ = "jobs"


class Received(SampleBase):
    __tablename__ = "received"

    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36))


if registry.get("sampler", "thing_happened", 1) is None:

    @register("sampler", "thing_happened", consumers=("listener",))
    class ThingHappened(DataSchema):
        key = fields.String(required=True)
        fail_times = fields.Integer(required=True, strict=True)
        permanent = fields.Boolean(load_default=False)


class SamplerService(PlatformService):
    name = "sampler"

    db = Database()
    outbox = Outbox()
    jobs = JobRunner(SampleJob)

    @rpc
    def make(self, key: str, fail_times: int = 0, permanent: bool = False) -> str:
        envelope = self.outbox.add("thing_happened", {"key": key, "fail_times": fail_times, "permanent": permanent})
        self.db.commit()
        return envelope["event_id"]

    audit = Audit()

    retention_rules = (
        RetentionRule(
            "closed_contact_phone",
            30,
            due=lambda cutoff: select(Contact.id).where(Contact.phone.is_not(None), Contact.closed_at < cutoff),
            erase=lambda session, ids: session.execute(update(Contact).where(Contact.id.in_(ids)).values(phone=None)),
            description="phones of closed contacts",
        ),
    )

    @rpc
    @requires("reviewer")
    def approve(self, case: str) -> dict:
        return {"case": case, "by": self.auth.caller.subject}

    @rpc
    @requires("caseworker")
    def move_case(self, case_id: str, to_state: str, note: str | None = None, fail_after: bool = False) -> dict:
        case = self.db.get(Case, case_id) or Case(id=case_id, state="new")
        self.db.add(case)
        self.audit.record(
            "sample_case",
            case_id,
            "moved",
            from_state=case.state,
            to_state=to_state,
            changes={"state": to_state, "note": note},
            reason=note,
            policy_ref="sample-policy-v1",
        )
        case.state = to_state
        self.db.flush()
        if fail_after:
            raise RuntimeError("failure after the change")
        self.db.commit()
        return {"id": case.id, "state": case.state}

    @rpc
    def divide(self, a, b):
        return a / b

    @rpc(read_only=True)
    def pass_gate(self, name: str) -> int:
        """Waits until the test opens the gate, then answers how many times it has been called."""
        ATTEMPTS[name] += 1
        GATES[name].wait()
        return ATTEMPTS[name]

    @rpc
    def history(self, case_id: str) -> list:
        return case_history(self.db, "sample_case", case_id)


class ListenerService(PlatformService):
    name = "listener"

    db = Database()

    @event_consumer("sampler", "thing_happened")
    def on_thing_happened(self, event):
        from shared.platform.errors import PermanentError

        data = event["data"]
        ATTEMPTS[data["key"]] += 1
        if data["permanent"]:
            raise PermanentError("this thing can never be handled")
        if ATTEMPTS[data["key"]] <= data["fail_times"]:
            raise RuntimeError("flaky downstream")
        self.db.add(Received(key=data["key"], event_id=event["event_id"]))


BATCHES: list[list[str]] = []  # the keys of each batch the batching listener's batch form was given


def receive(service, event) -> None:
    from shared.platform.errors import PermanentError

    data = event["data"]
    ATTEMPTS[data["key"]] += 1
    if data["permanent"]:
        raise PermanentError("this thing can never be handled")
    service.db.add(Received(key=data["key"], event_id=event["event_id"]))


def receive_many(service, events) -> None:
    BATCHES.append([event["data"]["key"] for event in events])
    for event in events:
        receive(service, event)


class BatchListenerService(PlatformService):
    """The listener again (same name, so the same queue), consuming in batches (shared/platform/batch_consumer.py)."""

    name = "listener"

    db = Database()


subscribe(BatchListenerService, {("sampler", "thing_happened"): receive}, batch={receive: receive_many})
