"""The stats service's application object: `self.desk` in a worker (see shared/platform/unit_of_work.py).

Stats writes only what it folds from events, and the batching consumer commits a batch with its record of
the deliveries (shared/platform/batch_consumer.py), so no verb here commits: the readers end their read,
and `rebuild` commits a repair in its own transaction (services/stats/store.py)."""

from __future__ import annotations

from services.stats import store
from services.stats.figures import report_sections, report_text, wan_yuan
from services.stats.fold import FoldError, counter_name, town_of
from services.stats.gauges import publish
from shared.platform.contracts import load_all
from shared.platform.errors import PermanentError
from shared.platform.unit_of_work import WorkerDesk

SERVICE_NAME = "stats"
EARLIEST_YEAR = 1900  # a venue's opening day is the oldest business time an event carries


def consumed_kinds() -> list[tuple[str, str]]:
    """(source, event_type) of every contract that names stats as a consumer, any version, once each."""
    return sorted({(c.source, c.event_type) for c in load_all().consumed_by(SERVICE_NAME)})


def _keyed(groups: dict) -> dict:
    return {str(group) if group != "" else "unknown": figures for group, figures in groups.items()}


class Desk(WorkerDesk):
    # --- events consumed -------------------------------------------------------------------------------

    def archive(self, event: dict) -> None:
        """Archive the envelope and add its facts to the live figures."""
        try:
            store.record(self.db, event)
        except FoldError as exc:
            raise PermanentError(str(exc)) from exc

    def archive_many(self, events: list[dict]) -> None:
        """Archive a batch and add its facts to the live figures: one statement per table for the batch."""
        try:
            store.record_many(self.db, events)
        except FoldError as exc:
            raise PermanentError(str(exc)) from exc

    # --- figures ----------------------------------------------------------------------------------------

    def summary(self, year: int | None, town: str | None) -> dict:
        years = (year, year) if year is not None else None
        town = town_of(town) if town is not None else None
        figures = store.figures_for(self.db, years, town)
        counters = {counter_name(*kind): 0 for kind in consumed_kinds()}
        counters.update(figures.pop("counters"))
        result = {
            "year": year,
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

    def report(self, from_year: int, to_year: int) -> dict:
        years = (from_year, to_year)
        figures = store.figures_for(self.db, years)
        by_year = store.breakdown(self.db, "year", years)
        standing = store.figures_for(self.db, (EARLIEST_YEAR, years[1]))  # the stock, venues, followers "to date"
        self.db.rollback()
        return {
            "from_year": years[0],
            "to_year": years[1],
            "figures": figures,
            "standing": {key: standing[key] for key in ("stock", "venues", "wechat")},
            "by_year": _keyed(by_year),
            "subsidy_paid_wan_yuan": wan_yuan(figures["subsidy_paid_fen"]),
            "operator_subsidy_wan_yuan": wan_yuan(figures["operator_subsidy"]["amount_fen"]),
            "sections": report_sections(years[0], years[1], figures, by_year, standing),
            "text": report_text(years[0], years[1], figures, by_year, standing),
        }

    def rebuild(self, repair: bool) -> dict:
        return store.rebuild(self.db, repair=repair)

    def refresh_gauges(self) -> None:
        overall = store.figures_for(self.db)
        overall.pop("counters")
        publish(overall, store.breakdown(self.db, "year"), store.archived_count(self.db))
        self.db.rollback()
