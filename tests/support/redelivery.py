"""Messages left in a test vhost that were redelivered past their limit: a consumer that can neither finish
nor refuse a message (a poison request killing its service, an event retried for ever) leaves it behind.

Checked when a vhost is deleted, so a vhost left empty costs one management API call and nothing more; only
queues still holding messages are looked into (their messages peeked and put back). The API's counts are
statistics, up to 5 s old: a message younger than that may be missed, but one redelivered for ever is older.
Dead-letter queues are where messages rest by design and are not checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlparse

import pytest
from amqp.exceptions import ChannelError
from kombu import Connection
from nameko.testing.rabbit import Client, HTTPError

from shared.platform.dead_letters import ATTEMPTS_HEADER
from shared.platform.topology import DEFAULT_RETRY_DELAYS_MS

# the longest retry schedule the suite configures; a message retried more often should have been dead-lettered
MAX_ATTEMPTS = len(DEFAULT_RETRY_DELAYS_MS)
MAX_DELIVERIES = 5  # broker redeliveries (quorum queues count them in x-delivery-count)
PEEK = 100


@dataclass(frozen=True)
class Overdue:
    vhost: str
    queue: str
    why: str

    def __str__(self) -> str:
        return f"{self.vhost}/{self.queue}: {self.why}"


def overdue_messages(client: Client, vhost: str, amqp_uri: str | None = None) -> list[Overdue]:
    """`client`: the management API (nameko's test client, as the vhost fixtures use); `amqp_uri`: the broker's
    AMQP address, to count the messages of queues too young for the API's statistics."""
    try:
        queues = client._request("GET", "queues", vhost, params={"columns": "name,messages"}) or []
    except HTTPError as exc:
        if exc.response is not None and exc.response.status_code == 404:
            return []  # already gone
        raise
    queues = [queue for queue in queues if not queue["name"].endswith(".dlq") and queue.get("messages", 1) != 0]
    young = [queue["name"] for queue in queues if "messages" not in queue]
    if young and amqp_uri:
        # most of a test's queues are younger than the statistics; peeking each through the API cost the
        # broker more CPU than the test itself, and a passive declare counts them for almost nothing (by the
        # time a vhost is deleted its consumers are gone, so every message left is ready and counted)
        counts = live_counts(amqp_uri, vhost, young)
        queues = [queue for queue in queues if "messages" in queue or counts.get(queue["name"], 1) > 0]
    found = []
    for queue in queues:
        peek = {"count": PEEK, "ackmode": "reject_requeue_true", "encoding": "auto", "truncate": 1000}
        messages = client._request("POST", "queues", vhost, queue["name"], "get", json=peek) or []
        found.extend(Overdue(vhost, queue["name"], why) for why in _reasons(messages))
    return found


def live_counts(amqp_uri: str, vhost: str, names: list[str]) -> dict[str, int]:
    """Each queue's ready messages, from a passive declare; a queue gone meanwhile is left out."""
    broker = urlparse(amqp_uri)
    counts = {}
    with Connection(f"{broker.scheme}://{broker.netloc}/{quote(vhost, safe='')}", connect_timeout=5) as connection:
        channel = connection.channel()
        for name in names:
            try:
                counts[name] = channel.queue_declare(name, passive=True).message_count
            except ChannelError:
                channel = connection.channel()  # a refused passive declare closes the channel
    return counts


def _reasons(messages: list[dict]) -> list[str]:
    reasons = []
    for message in messages:
        headers = (message.get("properties") or {}).get("headers") or {}
        attempts, deliveries = _number(headers.get(ATTEMPTS_HEADER)), _number(headers.get("x-delivery-count"))
        if attempts > MAX_ATTEMPTS:
            reasons.append(f"a message on its attempt {attempts} (limit {MAX_ATTEMPTS})")
        if deliveries > MAX_DELIVERIES:
            reasons.append(f"a message redelivered {deliveries} times (limit {MAX_DELIVERIES})")
    return reasons


def _number(value) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


class VhostCheck:
    """A pytest plugin: every test vhost deleted through nameko's management client (the per-test vhosts of
    `rabbit_config`, deleted on the pipeline's own thread, and every `ops.sandbox` platform's) is checked
    first; any overdue message fails the run, listed in the summary."""

    def __init__(self):
        self.found: list[Overdue] = []
        self.unchecked: list[str] = []
        self.original = None

    def pytest_configure(self, config):
        self.original = original = Client.delete_vhost
        check = self

        amqp_uri = config.getoption("RABBIT_AMQP_URI", None)

        def delete_vhost(client, vhost):
            try:
                check.found.extend(overdue_messages(client, vhost, amqp_uri))
            except Exception as exc:  # the API unreachable: no verdict, said so, and the vhost still goes
                check.unchecked.append(f"{vhost}: {type(exc).__name__}")
            original(client, vhost)

        Client.delete_vhost = delete_vhost

    def pytest_unconfigure(self, config):
        Client.delete_vhost = self.original

    @pytest.hookimpl(hookwrapper=True)
    def pytest_sessionfinish(self, session):
        yield  # session fixtures (the vhost pipeline) are torn down by now
        if self.found:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter):
        if self.unchecked:
            terminalreporter.section("vhosts deleted without the redelivery check", yellow=True)
            for line in self.unchecked:
                terminalreporter.line(line)
        if self.found:
            terminalreporter.section("messages redelivered past their limit", red=True)
            for overdue in self.found:
                terminalreporter.line(str(overdue))
