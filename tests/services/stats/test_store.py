"""The live tables against the fold, the append-only archive and rebuild, on SQLite and PostgreSQL."""

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from services.stats import store
from services.stats.figures import headline
from services.stats.fold import fold
from services.stats.models import ArchivedEvent, ArchiveIsAppendOnly, FigureTotal
from tests.services.stats.factories import history_of_three_households, loaded


def consume(session, envelopes):
    """What the consumer does with each delivery: a validated envelope recorded in its own transaction."""
    for envelope in envelopes:
        store.record(session, loaded(envelope))
        session.commit()


def test_live_figures_equal_the_fold_of_what_was_recorded(session):
    envelopes = history_of_three_households()
    consume(session, envelopes)
    assert store.live_figures(session) == fold(envelopes)
    expected = fold(envelopes)
    overall = store.figures_for(session)
    assert overall.pop("counters") == {m: v for m, v in expected.sums().items() if "." in m}
    assert overall == headline(expected.sums(), expected.distinct())
    assert store.figures_for(session, (2024, 2024), "周巷镇")["households"] == 1
    by_year = store.breakdown(session, "year")
    assert sorted(by_year) == [2019, 2021, 2024]
    assert by_year[2024]["households"] == 2 and by_year[2019]["subsidy_paid_fen"] == 100_000


def test_the_archive_refuses_update_and_delete_in_the_database_and_the_orm(session):
    consume(session, history_of_three_households()[:1])
    for statement in (
        update(ArchivedEvent).values(body="{}"),
        delete(ArchivedEvent),
        text("UPDATE stat_archive SET event_type = 'x'"),
        text("DELETE FROM stat_archive"),
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(statement)
        session.rollback()
    row = session.scalars(select(ArchivedEvent)).one()
    session.delete(row)
    with pytest.raises(ArchiveIsAppendOnly):
        session.flush()
    session.rollback()
    row = session.scalars(select(ArchivedEvent)).one()
    row.body = "{}"
    with pytest.raises(ArchiveIsAppendOnly):
        session.flush()
    session.rollback()
    assert session.scalar(select(ArchivedEvent.event_type)) == "subsidy_approved"


def test_rebuild_agrees_then_finds_and_repairs_a_tampered_figure(session):
    consume(session, history_of_three_households())
    result = store.rebuild(session)
    assert (result["equal"], result["events"], result["differences"], result["repaired"]) == (True, 9, [], False)
    assert result["live"] == result["refolded"]

    session.execute(
        update(FigureTotal).where(FigureTotal.metric == "subsidy_paid_fen", FigureTotal.year == 2024).values(value=1)
    )
    session.commit()
    tampered = store.rebuild(session)
    assert not tampered["equal"] and not tampered["repaired"]
    assert tampered["differences"] == ["total 2024/周巷镇/frontline_worker/subsidy_paid_fen: live 1, refolded 250000"]

    repaired = store.rebuild(session, repair=True)
    assert (repaired["equal"], repaired["repaired"]) == (False, True)
    assert store.rebuild(session)["equal"] is True
    assert store.figures_for(session)["subsidy_paid_fen"] == 350_000


def test_an_empty_archive_rebuilds_to_empty_figures(session):
    result = store.rebuild(session)
    assert (result["equal"], result["events"]) == (True, 0)
    assert result["live"]["households"] == 0
