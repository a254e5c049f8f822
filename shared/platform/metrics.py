"""Prometheus metrics. Labels name services, entrypoints and outcomes only, never personal data."""

from __future__ import annotations

import time
from weakref import WeakKeyDictionary

from nameko.extensions import DependencyProvider
from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "newcitizen_entrypoint_requests_total", "Entrypoint calls by outcome", ["service", "entrypoint", "outcome"]
)
LATENCY = Histogram(
    "newcitizen_entrypoint_latency_seconds",
    "Entrypoint latency",
    ["service", "entrypoint", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10, 30),
)
OUTBOX_BACKLOG = Gauge("newcitizen_outbox_backlog", "Outbox rows not yet published", ["service"])
OUTBOX_PUBLISHED = Counter("newcitizen_outbox_published_total", "Outbox rows published", ["service"])
OUTBOX_PUBLISH_FAILURES = Counter("newcitizen_outbox_publish_failures_total", "Failed outbox publishes", ["service"])
EVENTS_CONSUMED = Counter(
    "newcitizen_events_consumed_total", "Events handled by a consumer", ["service", "consumer", "outcome"]
)
EVENTS_RETRIED = Counter(
    "newcitizen_events_retried_total", "Events sent to a retry delay queue", ["service", "consumer"]
)
EVENTS_DEAD_LETTERED = Counter(
    "newcitizen_events_dead_lettered_total", "Events sent to the dead-letter queue", ["service", "consumer", "reason"]
)
RPC_REFUSED = Counter(
    "newcitizen_rpc_refused_total",
    "RPC requests refused before any worker ran (malformed, unknown method, wrong arguments, no reply address)",
    ["service", "reason"],
)

# Declared here so the alert rules and the dashboard (deploy/) name a metric that exists before notify
# fills it: notify counts each notification as it reaches a status (GOV.UK Notify's taxonomy). Labels are
# names from fixed sets, never personal data. (stats owns its `newcitizen_stats_figure` gauges.)
NOTIFICATIONS = Counter(
    "newcitizen_notifications_total",
    "Notifications reaching a status (created, sending, delivered, *-failure)",
    ["service", "channel", "provider", "status"],
)


def outcome_of(exc_info) -> str:
    if exc_info is None:
        return "success"
    from shared.platform.errors import DomainError

    return "rejected" if isinstance(exc_info[1], DomainError) else "error"


class EntrypointMetrics(DependencyProvider):
    """Counts and times every worker of the service it is attached to."""

    def __init__(self):
        self.started: WeakKeyDictionary = WeakKeyDictionary()

    def worker_setup(self, worker_ctx):
        self.started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self.started.pop(worker_ctx, None)
        if started is None:
            return
        labels = (self.container.service_name, worker_ctx.entrypoint.method_name, outcome_of(exc_info))
        REQUESTS.labels(*labels).inc()
        LATENCY.labels(*labels).observe(time.perf_counter() - started)

    def get_dependency(self, worker_ctx):
        return None
