"""The end-of-vhost check (tests/support/redelivery.py): a message left behind past its limit is found, one
within it or parked in a dead-letter queue is not, and a run that leaves one behind fails."""

import subprocess
import sys
import textwrap

import pytest
from kombu import Connection, Exchange, Queue

from shared.platform.config import REPO_ROOT
from shared.platform.dead_letters import ATTEMPTS_HEADER
from tests.support.redelivery import MAX_ATTEMPTS, MAX_DELIVERIES, live_counts, overdue_messages
from tests.support.waiting import wait_for


def put(amqp_uri, queue_name, headers, quorum=False):
    queue = Queue(queue_name, Exchange(""), routing_key=queue_name, durable=True,
                  queue_arguments={"x-queue-type": "quorum"} if quorum else None)  # fmt: skip
    with Connection(amqp_uri) as connection:
        queue(connection.default_channel).declare()
        connection.Producer().publish("{}", exchange="", routing_key=queue_name, headers=headers, delivery_mode=2)
    return queue


def counted(client, vhost, *names):
    """Once the management API's statistics (emitted every few seconds) show a message on each queue."""

    def listed():
        queues = {q["name"]: q.get("messages", 0) for q in client._request("GET", "queues", vhost)}
        return all(queues.get(name) for name in names)

    assert wait_for(listed, timeout=20)


def purge(amqp_uri, queue):
    with Connection(amqp_uri) as connection:
        queue(connection.default_channel).purge()


def test_a_message_past_its_attempts_is_found_one_within_or_dead_lettered_is_not(rabbit_config, rabbit_manager):
    uri, vhost = rabbit_config["AMQP_URI"], rabbit_config["vhost"]
    within = put(uri, "evt-housing-x--stats", {ATTEMPTS_HEADER: MAX_ATTEMPTS})
    parked = put(uri, "stats.dlq", {ATTEMPTS_HEADER: MAX_ATTEMPTS + 5})
    past = put(uri, "evt-housing-y--notify", {ATTEMPTS_HEADER: MAX_ATTEMPTS + 1})
    counted(rabbit_manager, vhost, within.name, parked.name, past.name)
    found = overdue_messages(rabbit_manager, vhost)
    assert [(o.queue, o.why) for o in found] == [
        ("evt-housing-y--notify", f"a message on its attempt {MAX_ATTEMPTS + 1} (limit {MAX_ATTEMPTS})")
    ]
    for queue in (within, parked, past):
        purge(uri, queue)


def test_a_message_the_broker_redelivered_past_the_limit_is_found(rabbit_config, rabbit_manager):
    uri, vhost = rabbit_config["AMQP_URI"], rabbit_config["vhost"]
    queue = put(uri, "rpc-housing", {}, quorum=True)
    with Connection(uri) as connection:
        bound = queue(connection.default_channel)
        for _ in range(MAX_DELIVERIES + 1):  # a consumer that takes it and gives it back, again and again
            bound.get().requeue()
    counted(rabbit_manager, vhost, queue.name)
    found = overdue_messages(rabbit_manager, vhost)
    assert len(found) == 1 and found[0].queue == "rpc-housing" and "redelivered" in found[0].why
    purge(uri, queue)


def test_a_run_leaving_an_overdue_message_behind_fails(tmp_path):
    (tmp_path / "test_leaves_one.py").write_text(
        textwrap.dedent(f"""
            from kombu import Connection

            def test_passes_but_leaves_a_poison_behind(rabbit_config):
                with Connection(rabbit_config["AMQP_URI"]) as connection:
                    connection.default_channel.queue_declare("evt-a-b--c", durable=True)
                    connection.Producer().publish(
                        "{{}}", exchange="", routing_key="evt-a-b--c", headers={{"{ATTEMPTS_HEADER}": 99}}
                    )
        """)
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.support.redelivery_plugin",
         "--suppress-nameko-eventlet-notification", str(tmp_path)],
        cwd=tmp_path, env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "1 passed" in run.stdout, run.stdout + run.stderr
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout
    assert "evt-a-b--c: a message on its attempt 99" in run.stdout


def test_a_queue_too_young_for_the_statistics_is_counted_over_amqp(rabbit_config, rabbit_manager):
    uri, vhost = rabbit_config["AMQP_URI"], rabbit_config["vhost"]
    empty = Queue("evt-housing-z--stats", Exchange(""), routing_key="evt-housing-z--stats", durable=True)
    with Connection(uri) as connection:
        empty(connection.default_channel).declare()
    past = put(uri, "evt-housing-y--notify", {ATTEMPTS_HEADER: MAX_ATTEMPTS + 1})
    # at once, before the API has a figure for either queue: the passive declare tells the empty one apart
    assert live_counts(uri, vhost, [empty.name, past.name, "gone"]) == {empty.name: 0, past.name: 1}
    found = overdue_messages(rabbit_manager, vhost, uri)
    assert [o.queue for o in found] == ["evt-housing-y--notify"]
    purge(uri, past)
