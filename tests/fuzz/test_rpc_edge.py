"""Hostile RPC requests published raw to the `nameko-rpc` exchange, against all five services as processes.

Each one is refused: a typed error goes to its reply address, or, when it has none, it is dead-lettered to
`<service>.dlq` with the reason. It is acked (nothing is left on `rpc-<service>`), and the service answers
`health` afterwards. Before the RPC edge (`shared/platform/rpc_edge.py`) a `nameko.call_id_stack` holding a dict
killed the process, and the request, still on the queue, killed every restart.
"""

import json
import uuid
from dataclasses import dataclass, field

import pytest
from kombu import Connection, Exchange, Queue
from nameko.exceptions import deserialize

from shared.platform.config import SERVICES
from shared.platform.contracts import CORRELATION_ID_MAX
from shared.platform.errors import MalformedCall
from shared.platform.rpc import DEFAULT_MAX_BODY_BYTES
from shared.platform.rpc_edge import MAX_CALL_IDS
from tests.fuzz.conftest import ALL_ROLES
from tests.support.broker import drain_dead_letters
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e

RPC_EXCHANGE = Exchange("nameko-rpc", type="topic", durable=True)
CALL = json.dumps({"args": [], "kwargs": {}})
HUGE = "x" * 100_000
UNANSWERABLE = "unanswerable"  # the dead-letter reason of a request without a reply address


def body_of(size: int) -> str:
    """A well-formed request body of exactly `size` bytes."""
    frame = json.dumps({"args": [""], "kwargs": {}})
    return json.dumps({"args": ["x" * (size - len(frame))], "kwargs": {}})


@dataclass(frozen=True)
class Attack:
    expect: str | None  # the error type the reply carries, UNANSWERABLE, or None: answered normally
    bad: tuple = ()  # the fields a MalformedCall must name
    body: bytes | str = CALL
    content_type: str = "application/json"
    headers: dict = field(default_factory=dict)
    method: str = "health"
    reply_to: bool | str = True  # a text: sent as reply_to instead of the reply queue's key
    correlation_id: bool = True


def header_attacks() -> dict[str, Attack]:
    attacks = {}
    wrong = {"dict": {"a": {"b": 1}}, "int": 7, "list": ["a", ["b"]], "oversized": HUGE}
    for name in ("correlation_id", "authorization", "language", "user_agent", "user_id"):
        for kind, value in wrong.items():
            attacks[f"{name}-{kind}"] = Attack("MalformedCall", (f"nameko.{name}",), headers={f"nameko.{name}": value})
    stacks = {
        "dict": {"a": "b"},
        "text": "standalone_rpc_proxy.call.1",
        "list-of-dicts": [{"a": 1}],
        "oversized-entry": [HUGE],
        "too-many-entries": [f"caller.call.{i}" for i in range(1000)],
    }
    for kind, value in stacks.items():
        key = "nameko.call_id_stack"
        attacks[f"call_id_stack-{kind}"] = Attack("MalformedCall", (key,), headers={key: value})
    # written as they came into the audit trail, the events and the logs: refused, not cleaned
    for name, value in (("correlation_id", "c-1\nforged log line"), ("call_id_stack", ["c-\u202e1"])):
        key = f"nameko.{name}"
        attacks[f"{name}-not-an-identifier"] = Attack("MalformedCall", (key,), headers={key: value})
    attacks["unprefixed-header-dict"] = Attack("MalformedCall", ("x-evil",), headers={"x-evil": {"a": [1]}})
    attacks["too-many-headers"] = Attack("MalformedCall", ("headers",), headers={f"h{i}": "v" for i in range(100)})
    return attacks


ATTACKS = header_attacks() | {
    "no-reply-to": Attack(UNANSWERABLE, reply_to=False),
    "no-correlation-id": Attack(UNANSWERABLE, correlation_id=False),
    # a reply the service's broker user may not publish (docs/security.md, "Broker identities"): never run
    "reply-to-not-a-reply-key": Attack(UNANSWERABLE, reply_to="housing.submit_subsidy_application"),
    "not-json-and-no-reply-to": Attack(UNANSWERABLE, body=b"\x00\xff{not json", reply_to=False),
    "bad-header-and-no-reply-to": Attack(UNANSWERABLE, headers={"nameko.call_id_stack": {"a": 1}}, reply_to=False),
    "body-not-json": Attack("MalformedCall", ("body",), body=b"\x00\xff{not json"),
    "content-type-pickle": Attack(
        "MalformedCall", ("content_type",), body=b"\x80\x04K\x01.", content_type="application/x-python-serialize"
    ),
    "content-type-text": Attack("MalformedCall", ("content_type",), content_type="text/plain"),
    "content-type-binary": Attack("MalformedCall", ("content_type",), content_type="application/data"),
    "body-a-list": Attack("MalformedCall", ("body",), body="[1, 2]"),
    "body-without-args": Attack("MalformedCall", ("body.args", "body.kwargs"), body="{}"),
    "args-and-kwargs-wrong-types": Attack(
        "MalformedCall", ("body.args", "body.kwargs"), body=json.dumps({"args": "abc", "kwargs": [1]})
    ),
    "unknown-method": Attack("MethodNotFound", method="no_such_method"),
    # refused before it is decoded; one byte less is decoded and reaches the signature check
    "body-over-the-limit": Attack("MalformedCall", ("body",), body=body_of(DEFAULT_MAX_BODY_BYTES + 1)),
    "body-at-the-limit": Attack("IncorrectSignature", body=body_of(DEFAULT_MAX_BODY_BYTES)),
    "body-over-the-limit-and-no-reply-to": Attack(
        UNANSWERABLE, body=body_of(4 * DEFAULT_MAX_BODY_BYTES), reply_to=False
    ),
    "too-many-arguments": Attack("IncorrectSignature", body=json.dumps({"args": [1, 2], "kwargs": {}})),
    "unknown-keyword": Attack("IncorrectSignature", body=json.dumps({"args": [], "kwargs": {"nope": 1}})),
    # at the bounds, still served: what nameko itself forwards, and the longest correlation id an event takes
    "longest-context": Attack(
        None,
        headers={
            "nameko.call_id_stack": [f"caller.call.{i}-" + "x" * 180 for i in range(MAX_CALL_IDS)],
            "nameko.correlation_id": "c" * CORRELATION_ID_MAX,
            "nameko.language": "zh-CN",
            "x-newcitizen-replays": 2,
        },
    ),
}


@pytest.fixture(scope="module")
def broker(platform):
    with Connection(platform.amqp_uri) as connection:
        yield connection


def attack(broker, service: str, case: Attack, token: str | None) -> Queue:
    """Publish one hostile request; returns the reply queue it names (bound even when the request names none)."""
    reply_key = str(uuid.uuid4())
    replies = Queue(f"rpc.reply-attacker-{reply_key}", exchange=RPC_EXCHANGE, routing_key=reply_key, auto_delete=True)
    replies(broker.default_channel).declare()
    headers = {"nameko.authorization": token} if token else {}
    headers.update(case.headers)
    properties = {}
    if case.reply_to:
        properties["reply_to"] = case.reply_to if isinstance(case.reply_to, str) else reply_key
    if case.correlation_id:
        properties["correlation_id"] = str(uuid.uuid4())
    broker.Producer().publish(
        case.body,
        exchange=RPC_EXCHANGE,
        routing_key=f"{service}.{case.method}",
        content_type=case.content_type,
        content_encoding="binary" if isinstance(case.body, bytes) else "utf-8",
        headers=headers,
        retry=True,
        **properties,
    )
    return replies


def reply_to(broker, replies: Queue):
    bound = replies(broker.default_channel)
    message = wait_for(lambda: bound.get(no_ack=True), timeout=20)
    assert message is not None, "no reply"
    return json.loads(message.body)


def ready_requests(broker, service: str) -> int:
    return broker.default_channel.queue_declare(f"rpc-{service}", passive=True).message_count


@pytest.mark.parametrize("with_token", [False, True], ids=["no-token", "token"])
@pytest.mark.parametrize("case", list(ATTACKS), ids=list(ATTACKS))
@pytest.mark.parametrize("service", SERVICES)
def test_a_hostile_request_is_refused_acked_and_the_service_lives(platform, rpc, broker, service, case, with_token):
    hostile = ATTACKS[case]
    token = platform.token("attacker", *ALL_ROLES) if with_token else None
    replies = attack(broker, service, hostile, token)
    if hostile.expect == UNANSWERABLE:
        letters = wait_for(lambda: drain_dead_letters(platform.amqp_uri, service), timeout=20)
        assert len(letters) == 1, f"expected the request in {service}.dlq"
        headers, _ = letters[0]
        assert headers["x-original-queue"] == f"rpc-{service}"
        assert headers["x-dead-letter-reason"].startswith(f"{UNANSWERABLE}:")
    elif hostile.expect is None:
        assert reply_to(broker, replies)["result"]["status"] == "ok"
    else:
        reply = reply_to(broker, replies)
        assert reply["result"] is None
        error = deserialize(reply["error"])
        assert reply["error"]["exc_type"] == hostile.expect, reply["error"]
        if isinstance(error, MalformedCall):
            assert set(hostile.bad) <= set(error.errors), error.errors
            assert HUGE not in str(error) and "x" * 1000 not in str(error)  # never echoes what it refused
    assert getattr(rpc, service).health()["status"] == "ok"
    assert ready_requests(broker, service) == 0


def test_no_service_process_died_or_logged_what_it_refused(platform):
    logs = platform.logs()
    assert "thread exited with error" not in logs  # nameko's last words before the container is killed
    assert "Traceback" not in logs
    assert HUGE[:1000] not in logs
