"""stats' purge erases its ledger but keeps the archive, says so, and `rebuild` still agrees afterwards."""

from services.stats.service import StatsService
from tests.services.stats import factories as f
from tests.services.stats.test_service import deliver, rpc
from tests.support.databases import migrate
from tests.support.jobs import until_finished


def test_the_purge_reports_the_archive_kept_and_rebuild_still_reads_every_event(
    db_url, service_config, container_factory, token_for
):
    migrate("stats", db_url)
    config = service_config(db_url, RETENTION_DAYS={"processed_events": 0})  # every ledger row is due
    container_factory(StatsService, config).start()
    envelopes = f.history_of_three_households()
    deliver(config["AMQP_URI"], envelopes)

    with rpc(config, token_for("ad-1", "admin")) as admin:
        assert admin.purge_personal_data()["stats_archive"]["kept"] == "kept: rebuild reads it"
        purged = until_finished(admin, admin.purge_personal_data(dry_run=False))["result"]
        assert purged["processed_events"] == len(envelopes) and "stats_archive" not in purged
        rebuilt = admin.rebuild()
        assert (rebuilt["equal"], rebuilt["events"]) == (True, len(envelopes))
