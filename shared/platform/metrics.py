"""Prometheus metrics. Labels name services, entrypoints and outcomes only, never personal data."""

from __future__ import annotations

import time
from weakref import WeakKeyDictionary

from nameko.extensions import DependencyProvider
from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

# no `<counter>_created` series: no rule or panel reads them, and with every counter at 0 from the start
# (below) they were half of each scrape's lines
disable_created_metrics()

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
OUTBOX_OLDEST_AGE = Gauge(
    "newcitizen_outbox_oldest_unpublished_age_seconds",
    "Age of the oldest outbox row not yet published (0 when every row is published)",
    ["service"],
)
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

# The worker pool every entrypoint shares (nameko's `max_workers`): RPC, events, timers and the HTTP routes.
# A saturated pool queues work silently, so operators need busy / size per process.
WORKERS_BUSY = Gauge("newcitizen_worker_pool_busy", "Workers running now (the scrape's own excluded)", ["service"])
WORKERS_SIZE = Gauge("newcitizen_worker_pool_size", "The worker pool's size (max_workers)", ["service"])

# Declared here so the alert rules and the dashboard (deploy/) name a metric that exists before notify
# fills it: notify counts each notification as it reaches a status (GOV.UK Notify's taxonomy). Labels are
# names from fixed sets, never personal data. (stats owns its `newcitizen_stats_figure` gauges.)
NOTIFICATIONS = Counter(
    "newcitizen_notifications_total",
    "Notifications reaching a status (created, sending, delivered, *-failure)",
    ["service", "channel", "provider", "status"],
)


ALERTED_OUTCOMES = ("success", "error")  # what NewcitizenRpcErrorRate divides; `rejected` alerts nothing


def outcome_of(exc_info) -> str:
    if exc_info is None:
        return "success"
    from shared.platform.errors import DomainError

    return "rejected" if isinstance(exc_info[1], DomainError) else "error"


DEAD_LETTER_REASONS = ("invalid", "permanent", "exhausted", "oversized", "undecodable")
UNSEEN_ENTRYPOINTS = ("http_metrics",)  # a scrape would always see itself busy


def consumer_series(service: str, consumer: str) -> None:
    """A consumer's counters at 0 from its start: `increase()` and `rate()` cannot see a series' first
    sample, so a first dead letter that created its series raised no alert."""
    EVENTS_CONSUMED.labels(service, consumer, "success")
    EVENTS_RETRIED.labels(service, consumer)
    for reason in DEAD_LETTER_REASONS:
        EVENTS_DEAD_LETTERED.labels(service, consumer, reason)


def busy_workers(container) -> int:
    try:
        running = list(container._worker_threads)
    except ReferenceError:  # `container` is nameko's weak proxy, and that container has gone (tests run many)
        return 0
    return sum(1 for ctx in running if ctx.entrypoint.method_name not in UNSEEN_ENTRYPOINTS)


class EntrypointMetrics(DependencyProvider):
    """Counts and times every worker of the service it is attached to, and how busy its worker pool is."""

    def __init__(self):
        self.started: WeakKeyDictionary = WeakKeyDictionary()

    def setup(self):
        service, container = self.container.service_name, self.container
        WORKERS_SIZE.labels(service).set(container.max_workers)
        # read from nameko's own table of running workers (ServiceContainer._worker_threads, nameko 2.14) at
        # scrape time: a count kept in worker_setup/teardown leaks when another dependency's setup raises
        WORKERS_BUSY.labels(service).set_function(lambda: busy_workers(container))
        # the outcomes the error-rate alert reads at 0 from the start, for `rate()` (see `consumer_series`): it
        # missed a service's first errors. Not the HTTP routes it leaves out, nor the latency histogram's
        # buckets per outcome, which would triple a scrape.
        for method in {entrypoint.method_name for entrypoint in container.entrypoints}:
            if not method.startswith("http_"):
                for outcome in ALERTED_OUTCOMES:
                    REQUESTS.labels(service, method, outcome)

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
