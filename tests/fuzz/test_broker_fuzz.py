"""The fuzz suite at the broker (issue 22, item 2): hypothesis-generated malformed messages published on every
`rpc-*` and `evt-*` queue, and random requests at every HTTP route of every service, against all five
services running as processes. Afterwards: every request is accounted for (answered, refused with a typed
error, or dead-lettered with its reason), every event dead-lettered, no queue holds a message (none is being
redelivered for ever), every service is ready, and one approval still gives one SMS and one stats count.

Long: `make test-faults` runs it with BROKER_FUZZ_EXAMPLES=150 (examples per queue and per route) and prints
the counts (docs/reliability.md). Marked `broker_fuzz`, which every other target leaves out: the
platform's start-up alone is over `make test`'s budget for one test.
"""

import json
import os
import uuid
from collections import Counter

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kombu import Connection, Exchange, Queue
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.rabbit import Client

from ops.sandbox import RABBIT_API
from shared.platform.config import REPO_ROOT, SERVICES
from shared.platform.contracts import load_all
from shared.platform.topology import consumer_queue_name
from tests.fuzz.conftest import ALL_ROLES
from tests.fuzz.discovery import http_routes, public_rpcs
from tests.fuzz.hostile import INJECTIONS, values
from tests.fuzz.test_rpc_fuzz import domain_error_names
from tests.support.broker import drain_dead_letters
from tests.support.redelivery import overdue_messages
from tests.support.residents import application
from tests.support.waiting import wait_for

EXAMPLES = int(os.environ.get("BROKER_FUZZ_EXAMPLES", "20"))
pytestmark = [pytest.mark.e2e, pytest.mark.broker_fuzz]

RPC_EXCHANGE = Exchange("nameko-rpc", type="topic", durable=True)
EVENT_QUEUES = sorted(
    {consumer_queue_name(c.source, c.event_type, s) for c in load_all().all() for s in c.consumers if s in SERVICES}
)
METHODS = {service: sorted(r.method for r in public_rpcs() if r.service == service) for service in SERVICES}
ROUTES = http_routes()
NEUTRAL_ERRORS = {"MalformedCall", "MethodNotFound", "IncorrectSignature", "BadRequest"}  # the RPC edge's
SENT: Counter = Counter()
HTTP_STATUSES: Counter = Counter()
FUZZ = settings(
    max_examples=EXAMPLES or 1,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)

ascii_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
header_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**31), max_value=2**31),
    st.text(max_size=40),
    st.sampled_from(INJECTIONS),
    st.lists(st.text(max_size=20), max_size=5),
    st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3),
    st.just("x" * 10_000),  # eight of them still fit the broker's 128 KB frame
)
header_names = st.one_of(
    st.sampled_from(
        [
            f"nameko.{n}"
            for n in ("call_id_stack", "correlation_id", "authorization", "language", "user_agent", "user_id")
        ]
    ),  # fmt: skip
    st.sampled_from(["x-newcitizen-attempts", "x-newcitizen-replays", "x-death", "x-delivery-count"]),
    ascii_text.filter(bool),
)
headers = st.one_of(
    st.dictionaries(header_names, header_values, max_size=8),
    st.just({f"h{i}": "v" for i in range(100)}),
)
envelope = st.fixed_dictionaries(
    {},
    optional={
        field: values
        for field in ("event_id", "event_type", "source", "version", "occurred_at", "correlation_id", "data")
    },
)
bodies = st.one_of(
    st.binary(max_size=512),
    values.map(json.dumps),
    st.fixed_dictionaries({"args": values, "kwargs": values}).map(json.dumps),
    envelope.map(json.dumps),
    st.just("x" * 300_000),
).map(lambda body: body if isinstance(body, bytes) else body.encode())
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/x-python-serialize",
        "application/data",
        "application/xml",
        "",
    ]  # fmt: skip
)
envelopes = st.fixed_dictionaries(
    {
        "body": bodies,
        "content_type": content_types,
        "encoding": st.sampled_from(["utf-8", "binary"]),
        "headers": headers,
    }  # fmt: skip
)


@pytest.fixture(scope="module")
def broker(platform):
    with Connection(platform.amqp_uri) as connection:
        yield connection


@pytest.fixture(scope="module")
def replies(broker):
    key = str(uuid.uuid4())
    queue = Queue(f"rpc.reply-fuzzer-{key}", exchange=RPC_EXCHANGE, routing_key=key, auto_delete=True)
    queue(broker.default_channel).declare()
    return key, queue


def publish(broker, message: dict, exchange, routing_key: str, **properties) -> None:
    broker.Producer().publish(
        message["body"],
        exchange=exchange,
        routing_key=routing_key,
        content_type=message["content_type"],
        content_encoding=message["encoding"],
        headers=message["headers"],
        retry=True,
        **properties,
    )


@pytest.mark.parametrize("service", SERVICES)
def test_malformed_requests_on_the_rpc_queue(platform, broker, replies, service):
    token = platform.token("fuzzer", *ALL_ROLES)
    reply_key, _ = replies

    @FUZZ
    @given(
        message=envelopes,
        method=st.one_of(st.sampled_from(METHODS[service]), ascii_text.filter(lambda t: t and "." not in t)),
        reply_to=st.sampled_from(["ours", "none", "not-a-reply-key"]),
        correlation=st.booleans(),
        with_token=st.booleans(),
    )
    def send(message, method, reply_to, correlation, with_token):
        if with_token:
            message = message | {"headers": {"nameko.authorization": token, **message["headers"]}}
        properties = {"correlation_id": str(uuid.uuid4())} if correlation else {}
        if reply_to != "none":
            properties["reply_to"] = reply_key if reply_to == "ours" else f"{service}.{method}"
        publish(broker, message, RPC_EXCHANGE, f"{service}.{method}", **properties)
        SENT["rpc"] += 1
        SENT["rpc answerable" if reply_to == "ours" and correlation else "rpc unanswerable"] += 1

    send()


@pytest.mark.parametrize("queue", EVENT_QUEUES)
def test_malformed_messages_on_the_event_queue(broker, queue):
    @FUZZ
    @given(message=envelopes)
    def send(message):
        publish(broker, message, "", queue, delivery_mode=2)
        SENT["evt"] += 1

    send()


@pytest.mark.parametrize("route", ROUTES, ids=[route.id for route in ROUTES])
def test_random_requests_at_the_http_route(platform, route):
    segment = st.text(max_size=30).map(lambda text: requests.utils.quote(text, safe="") or "x")

    @FUZZ
    @given(
        method=st.sampled_from([route.method, "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]),
        segments=st.lists(segment, min_size=3, max_size=3),
        query=st.dictionaries(ascii_text, st.text(max_size=30), max_size=4),
        http_headers=st.dictionaries(
            st.sampled_from(["Content-Type", "X-Signature", "X-Timestamp", "X-Nonce", "Authorization", "X-Any"]),
            ascii_text,
            max_size=4,
        ),
        body=bodies,
    )
    def send(method, segments, query, http_headers, body):
        path = route.url
        for segment_value in segments:
            if "<" in path:
                start = path.index("<")
                path = path[:start] + segment_value + path[path.index(">", start) + 1 :]
        response = requests.request(
            method, platform.base_url(route.service) + path, params=query, headers=http_headers, data=body, timeout=30
        )
        SENT["http"] += 1
        HTTP_STATUSES[response.status_code] += 1
        assert response.status_code < 500 or (response.status_code == 503 and "Retry-After" in response.headers), (
            f"{method} {route.service}{path}: {response.status_code} {response.text[:200]}"
        )
        assert "Traceback" not in response.text

    send()


def test_afterwards_all_accounted_for_nothing_redelivered_all_ready_and_the_core_flow_works(platform, broker, replies):
    outcomes: Counter = Counter()
    untyped: list = []
    typed = domain_error_names() | NEUTRAL_ERRORS
    dead_letters: list = []
    _, reply_queue = replies
    bound = reply_queue(broker.default_channel)

    def accounted():
        while (message := bound.get(no_ack=True)) is not None:
            error = json.loads(message.body).get("error")
            kind = "answered" if error is None else "typed error" if error.get("exc_type") in typed else "untyped"
            outcomes[kind] += 1
            if kind == "untyped":
                untyped.append(error.get("exc_type"))
        for service in SERVICES:
            drained = drain_dead_letters(platform.amqp_uri, service)
            dead_letters.extend(headers.get("x-original-queue", "") for headers, _ in drained)
        letters = Counter(q.split("-", 1)[0] for q in dead_letters)
        return letters["evt"] >= SENT["evt"] and (
            letters["rpc"] >= SENT["rpc unanswerable"] and sum(outcomes.values()) >= SENT["rpc answerable"]
        )

    settled = wait_for(accounted, timeout=180)
    counts = figures(outcomes, dead_letters)
    print("\nbroker fuzz:", json.dumps(counts))
    (REPO_ROOT / "var").mkdir(exist_ok=True)
    (REPO_ROOT / "var" / "broker_fuzz.json").write_text(json.dumps(counts, indent=2))
    assert settled, f"not every message was answered or dead-lettered: {counts}"
    # exactly: each request answered once or dead-lettered once (a reply address, or none), each event dead-lettered
    assert sum(outcomes.values()) == SENT["rpc answerable"] and counts["dead_lettered"] == {
        "rpc": SENT["rpc unanswerable"],
        "evt": SENT["evt"],
    }, counts
    assert not untyped, f"untyped errors: {Counter(untyped)}"

    api = Client(RABBIT_API)
    vhost = platform.amqp_uri.rsplit("/", 1)[1]
    assert wait_for(lambda: not held(api, vhost), timeout=60), f"queues still holding messages: {held(api, vhost)}"
    assert overdue_messages(api, vhost) == []
    for service in SERVICES:
        assert requests.get(f"{platform.base_url(service)}/readyz", timeout=10).status_code == 200, service
    assert "thread exited with error" not in platform.logs()  # nameko's last words before a container dies
    core_flow_still_works(platform)


def held(api: Client, vhost: str) -> dict:
    queues = api._request("GET", "queues", vhost, params={"columns": "name,messages"}) or []
    return {q["name"]: q["messages"] for q in queues if q["name"].startswith(("rpc-", "evt-")) and q.get("messages")}


def figures(outcomes: Counter, dead_letters: list) -> dict:
    return {
        "examples_per_target": EXAMPLES,
        "sent": {kind: SENT[kind] for kind in ("rpc", "rpc answerable", "rpc unanswerable", "evt", "http")},
        "rpc_queues": len(SERVICES),
        "evt_queues": len(EVENT_QUEUES),
        "http_routes": len(ROUTES),
        "rpc_answered": outcomes["answered"],
        "rpc_refused_typed": outcomes["typed error"],
        "rpc_untyped": outcomes["untyped"],
        "dead_lettered": {
            "rpc": sum(1 for q in dead_letters if q.startswith("rpc-")),
            "evt": sum(1 for q in dead_letters if q.startswith("evt-")),
        },
        "http_statuses": {str(status): n for status, n in sorted(HTTP_STATUSES.items())},
    }


def core_flow_still_works(platform):
    def proxy(sub, role):
        context = {"authorization": platform.token(sub, role)}
        return ClusterRpcProxy(platform.rpc_config(), context_data=context, timeout=30)

    with proxy("cw", "caseworker") as caseworker, proxy("rv", "reviewer") as reviewer, proxy("ad", "admin") as admin:
        approvals = lambda: admin.stats.summary()["counters"].get("housing.subsidy_approved", 0)  # noqa: E731
        before = approvals()
        form = application()
        submitted = caseworker.housing.submit_subsidy_application(form)
        reviewer.housing.review_subsidy_application(submitted["application_id"], "approve")
        sent = wait_for(
            lambda: [n for n in admin.notify.list_notifications(phone=form["phone"]) if n["status"] == "delivered"],
            timeout=60,
        )
        assert sent and len(admin.notify.list_notifications(phone=form["phone"])) == 1
        assert wait_for(lambda: approvals() == before + 1, timeout=60)
