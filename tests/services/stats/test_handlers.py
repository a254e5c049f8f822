"""A generated handler run directly (nameko's worker_factory) with a real database session."""

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import func, select

from services.stats.desk import Desk
from services.stats.models import ArchivedEvent
from services.stats.service import StatsService
from shared.platform.errors import PermanentError
from shared.platform.models import ProcessedEvent
from tests.services.stats import factories as f


def stats_worker(session):
    """A worker with a real session; worker_factory mocks every other dependency, so the application object
    is given as `Application(Desk)` would give it: over the worker's own session."""
    service = worker_factory(StatsService, db=session)
    service.desk = Desk(service)
    return service


def test_a_handler_archives_once_and_skips_a_duplicate(session):
    service = stats_worker(session)
    envelope = f.loaded(f.approved(f.resident(1), f.shanghai(2024, 5, 1)))
    service.on_housing_subsidy_approved(envelope)
    service.on_housing_subsidy_approved(f.loaded(f.approved(f.resident(1), f.shanghai(2024, 5, 1))))
    service.on_housing_subsidy_approved(envelope)  # the same event_id again
    assert session.scalar(select(func.count()).select_from(ArchivedEvent)) == 2
    assert session.get(ProcessedEvent, ("stats.on_housing_subsidy_approved", envelope["event_id"])) is not None


def test_an_envelope_the_fold_cannot_count_is_a_permanent_error_and_leaves_nothing(session):
    service = stats_worker(session)
    envelope = f.loaded(f.disbursed(f.resident(1), "2024-05", 100))
    del envelope["data"]["amount_fen"]  # as if a contract had made it optional
    with pytest.raises(PermanentError, match="amount_fen"):
        service.on_housing_subsidy_disbursed(envelope)
    assert session.scalar(select(func.count()).select_from(ArchivedEvent)) == 0
    assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == 0
