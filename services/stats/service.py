"""The stats service: a read model of the Center's figures, built only from the other services' events.

Handlers are subscribed from the contract registry: every contract that lists "stats" among its consumers
gets one batching consumer method, `on_<source>_<event_type>` (`shared.platform.batch_consumer.subscribe`), that
archives a batch of envelopes and applies their facts to the live figures in one transaction. A new event
kind needs only "stats" in its contract's `consumers` (and, if it contributes more than its counter, a line
in `fold.RULES`).
"""

from __future__ import annotations

from services.stats import store
from services.stats.figures import report_text, wan_yuan
from services.stats.fold import FoldError, counter_name, town_of
from services.stats.gauges import publish
from services.stats.schemas import RebuildQuery, ReportQuery, SummaryQuery
from shared.platform import service as platform  # not the class itself: `nameko run` would start it as a service too
from shared.platform.auth import requires
from shared.platform.batch_consumer import subscribe
from shared.platform.contracts import load_all
from shared.platform.db import Database
from shared.platform.errors import PermanentError
from shared.platform.retention import Kept
from shared.platform.rpc import rpc
from shared.platform.validation import load

SERVICE_NAME = "stats"
READERS = ("caseworker", "reviewer")  # every staff role; admin passes any staff check (the kiosk needs no figures)


def consumed_kinds() -> list[tuple[str, str]]:
    """(source, event_type) of every contract that names stats as a consumer, any version, once each."""
    return sorted({(c.source, c.event_type) for c in load_all().consumed_by(SERVICE_NAME)})


def _keyed(groups: dict) -> dict:
    return {str(group) if group != "" else "unknown": figures for group, figures in groups.items()}


class StatsService(platform.PlatformService):
    name = SERVICE_NAME

    db = Database()

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
        years = (query["year"], query["year"]) if query["year"] is not None else None
        town = town_of(query["town"]) if query["town"] is not None else None
        figures = store.figures_for(self.db, years, town)
        counters = {counter_name(*kind): 0 for kind in consumed_kinds()}
        counters.update(figures.pop("counters"))
        result = {
            "year": query["year"],
            "town": town,
            "counters": dict(sorted(counters.items())),
            **figures,
            "by_year": _keyed(store.breakdown(self.db, "year", years, town)),
            "by_town": _keyed(store.breakdown(self.db, "town", years, town)),
            "by_category": _keyed(store.breakdown(self.db, "category", years, town)),
            "events_archived": store.archived_count(self.db),
        }
        self.db.rollback()
        return result

    @rpc(read_only=True)
    @requires(*READERS)
    def report(self, from_year: int, to_year: int) -> dict:
        query = load(ReportQuery(), {"from_year": from_year, "to_year": to_year})
        years = (query["from_year"], query["to_year"])
        figures = store.figures_for(self.db, years)
        by_year = store.breakdown(self.db, "year", years)
        self.db.rollback()
        return {
            "from_year": years[0],
            "to_year": years[1],
            "figures": figures,
            "by_year": _keyed(by_year),
            "subsidy_paid_wan_yuan": wan_yuan(figures["subsidy_paid_fen"]),
            "operator_subsidy_wan_yuan": wan_yuan(figures["operator_subsidy"]["amount_fen"]),
            "text": report_text(years[0], years[1], figures, by_year),
        }

    @rpc
    @requires("admin")
    def rebuild(self, repair: bool = False) -> dict:
        query = load(RebuildQuery(), {"repair": repair})
        return store.rebuild(self.db, repair=query["repair"])

    def refresh_gauges(self) -> None:
        overall = store.figures_for(self.db)
        overall.pop("counters")
        publish(overall, store.breakdown(self.db, "year"), store.archived_count(self.db))
        self.db.rollback()


def archive(service: StatsService, event: dict) -> None:
    """Archive the envelope and add its facts to the live figures."""
    try:
        store.record(service.db, event)
    except FoldError as exc:
        raise PermanentError(str(exc)) from exc


def archive_many(service: StatsService, events: list[dict]) -> None:
    """Archive a batch and add its facts to the live figures: one statement per table for the batch."""
    try:
        store.record_many(service.db, events)
    except FoldError as exc:
        raise PermanentError(str(exc)) from exc


subscribe(StatsService, dict.fromkeys(consumed_kinds(), archive), batch={archive: archive_many})
