"""Same-machine, same-broker baselines the platform's figures are compared with.

* bare nameko: an RPC whose worker dispatches an event with nameko's own `EventDispatcher`, handled by a
  plain `@event_handler` in another service; the client counts a round as done when the handler has run.
* raw kombu: persistent publishes with publisher confirms to a durable queue.
"""

from __future__ import annotations

import time
import uuid

import eventlet
from eventlet.event import Event
from kombu import Connection, Exchange, Queue
from nameko.events import EventDispatcher, event_handler
from nameko.rpc import rpc
from nameko.runners import ServiceRunner
from nameko.standalone.rpc import ClusterRpcProxy

_DONE: dict[str, Event] = {}


class BaselinePublisher:
    name = "bench_baseline_publisher"
    dispatch = EventDispatcher()

    @rpc
    def approve(self, key):
        self.dispatch("approved", {"key": key})
        return key


class BaselineConsumer:
    name = "bench_baseline_consumer"

    @event_handler("bench_baseline_publisher", "approved")
    def on_approved(self, payload):
        event = _DONE.get(payload["key"])
        if event is not None:
            event.send(True)


def bare_nameko_rounds_per_second(amqp_uri: str, concurrency: int = 10, seconds: float = 10.0) -> dict:
    config = {"AMQP_URI": amqp_uri, "max_workers": 10}
    runner = ServiceRunner(config)
    runner.add_service(BaselinePublisher)
    runner.add_service(BaselineConsumer)
    runner.start()
    latencies: list[float] = []
    # a proxy serves one greenthread at a time (two readers on its reply socket is an eventlet error that
    # kills the second client), so each client gets its own, as the core-flow clients do
    proxies = [ClusterRpcProxy(config, timeout=30) for _ in range(concurrency)]
    try:
        clusters = [proxy.start() for proxy in proxies]
        clusters[0].bench_baseline_publisher.approve("warm-up")
        deadline = time.perf_counter() + seconds

        def client(cluster):
            while time.perf_counter() < deadline:
                key = uuid.uuid4().hex
                done = _DONE[key] = Event()
                started = time.perf_counter()
                cluster.bench_baseline_publisher.approve(key)
                done.wait(timeout=30)
                latencies.append(time.perf_counter() - started)
                _DONE.pop(key, None)

        began = time.perf_counter()
        pool = eventlet.GreenPool(concurrency)
        for cluster in clusters:
            pool.spawn(client, cluster)
        pool.waitall()
        elapsed = time.perf_counter() - began
    finally:
        for proxy in proxies:
            proxy.stop()
        runner.stop()
    return {"rounds": len(latencies), "per_second": len(latencies) / elapsed, "latencies": latencies}


def kombu_confirmed_publishes_per_second(amqp_uri: str, count: int = 5000) -> dict:
    name = f"bench-baseline-{uuid.uuid4().hex[:8]}"
    exchange = Exchange(name, type="direct", durable=True)
    queue = Queue(name, exchange=exchange, routing_key=name, durable=True)
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        producer = connection.Producer()
        queue(connection.channel()).declare()
        body = {"event_id": str(uuid.uuid4()), "data": {"x": "y" * 200}}
        began = time.perf_counter()
        for _ in range(count):
            producer.publish(body, exchange=exchange, routing_key=name, delivery_mode=2, serializer="json")
        elapsed = time.perf_counter() - began
        queue(connection.channel()).delete()
    return {"messages": count, "per_second": count / elapsed}
