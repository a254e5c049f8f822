"""notify's hand-written migrations build exactly the tables its models describe, on SQLite and PostgreSQL
(notify_0016: what names a call whose answer was lost, kept with the held notification), and notify_0020 hands a
broadcast still recording to a job."""

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from services.notify.models import Base
from shared.platform.db import make_engine
from shared.platform.migrations import alembic_config, upgrade
from shared.platform.models import SharedBase


def test_migrations_match_models(db_url):
    upgrade("notify", db_url)
    engine = make_engine(db_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        diff = list(compare_metadata(context, [Base.metadata, SharedBase.metadata]))
    engine.dispose()
    assert diff == []


def test_a_broadcast_recording_at_the_upgrade_gets_its_job_and_resumes_from_its_cursor(db_url):
    """notify_0020: the recorder's lease goes; a broadcast still recording is handed to a queued job."""
    upgrade("notify", db_url, "notify_0019")
    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            for broadcast_id, status in (("b-recording", "recording"), ("b-sending", "sending")):
                connection.execute(
                    text(
                        "INSERT INTO broadcasts (id, template_id, template_version, segment, personalisation, body,"
                        " segments, status, cursor, expected, recorded, created_by, created_at) VALUES (:id, 't', 1,"
                        " '{}', '{}', 'b', 1, :status, 'r-0040', 100, 40, 'admin', :now)"
                    ),
                    {"id": broadcast_id, "status": status, "now": datetime(2026, 3, 3, tzinfo=UTC)},
                )
        upgrade("notify", db_url, "notify_0020")
        with engine.connect() as connection:
            jobs = connection.execute(text("SELECT kind, key, params, status, cursor, total, done FROM jobs")).all()
        assert [tuple(job) for job in jobs] == [
            ("broadcast_recording", "b-recording", '{"broadcast_id": "b-recording"}', "queued", "r-0040", 100, 40)
        ]
        command.downgrade(alembic_config("notify", db_url), "notify_0019")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM jobs")).scalar() == 0
            assert (
                connection.execute(text("SELECT lease_owner FROM broadcasts WHERE id = 'b-recording'")).scalar() is None
            )
    finally:
        engine.dispose()
