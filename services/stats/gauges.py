"""Prometheus gauges of the Center's headline figures, refreshed from the live tables on a timer (`keep_gauges`)."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import Gauge

from services.stats.figures import flatten

FIGURE = Gauge(
    "newcitizen_stats_figure",
    'A headline figure of the Center (money in fen); year="all" is every year together',
    ["figure", "year"],
)
ARCHIVED = Gauge("newcitizen_stats_archived_events", "Envelopes in stats' append-only archive")


def publish(overall: Mapping, by_year: Mapping[int, Mapping], archived: int) -> None:
    for year, figures in [("all", overall), *by_year.items()]:
        for name, value in flatten(figures).items():
            FIGURE.labels(name, str(year)).set(value)
    ARCHIVED.set(archived)
