"""The stats service: a read model of the Center's figures, built only from the other services' events.

Handlers are subscribed from the contract registry: every contract that lists "stats" among its consumers
gets one batching consumer method, `on_<source>_<event_type>` (`shared.platform.batch_consumer.subscribe`), that
archives a batch of envelopes and applies their facts to the live figures in one transaction. A new event
kind needs only "stats" in its contract's `consumers` (and, if it contributes more than its counter, a line
in `fold.RULES`).
"""

from __future__ import annotations

from services.stats.desk import SERVICE_NAME, Desk, consumed_kinds
from services.stats.models import Job
from services.stats.schemas import RebuildQuery, ReportQuery, SummaryQuery
from shared.platform import service as platform  # not the class itself: `nameko run` would start it as a service too
from shared.platform.auth import requires
from shared.platform.batch_consumer import subscribe
from shared.platform.db import Database
from shared.platform.jobs import JobRunner
from shared.platform.retention import Kept
from shared.platform.rpc import rpc
from shared.platform.unit_of_work import Application
from shared.platform.validation import load

READERS = ("caseworker", "reviewer")  # every staff role; admin passes any staff check (the kiosk needs no figures)


class StatsService(platform.PlatformService):
    name = SERVICE_NAME

    db = Database()
    jobs = JobRunner(Job)
    desk = Application(Desk)

    # reasoning and size per year: docs/operations.md ("Retention")
    retention_rules = (
        Kept(
            "stats_archive",
            "kept: rebuild reads it",
            "archived envelopes: resident pseudonyms, no names or ID numbers",
            tables=("stat_archive",),
        ),
    )

    @rpc(read_only=True)
    @requires(*READERS)
    def summary(self, year: int | None = None, town: str | None = None) -> dict:
        query = load(SummaryQuery(), {"year": year, "town": town})
        return self.desk.summary(query["year"], query["town"])

    @rpc(read_only=True)
    @requires(*READERS)
    def report(self, from_year: int, to_year: int) -> dict:
        query = load(ReportQuery(), {"from_year": from_year, "to_year": to_year})
        return self.desk.report(query["from_year"], query["to_year"])

    @rpc
    @requires("admin")
    def rebuild(self, repair: bool = False) -> dict:
        query = load(RebuildQuery(), {"repair": repair})
        return self.desk.rebuild(query["repair"])

    def refresh_gauges(self) -> None:
        self.desk.refresh_gauges()


def archive(service: StatsService, event: dict) -> None:
    service.desk.archive(event)


def archive_many(service: StatsService, events: list[dict]) -> None:
    service.desk.archive_many(events)


subscribe(StatsService, dict.fromkeys(consumed_kinds(), archive), batch={archive: archive_many})
