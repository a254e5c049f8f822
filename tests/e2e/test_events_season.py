"""A generated summer season, played through the events service, shows up whole in the stats report:
every check-in becomes one 人次 there, and every closed activity one completion. A small season here;
`make bench-events` plays the seed-sized one (docs/performance/events.md)."""

from argparse import Namespace

import pytest

from bench import events_summer_season as season
from ops.launcher import stop_service
from tests.support.platform import running_platform

pytestmark = pytest.mark.e2e


@pytest.fixture
def platform(tmp_path):
    with running_platform(tmp_path) as running:
        # the season drives its own in-process events service on this vhost, on a simulated clock
        stop_service("events", running.run_dir)
        yield running


def test_a_season_reproduces_its_participations_in_the_stats_report(platform, tmp_path, monkeypatch):
    for key, value in {**platform.env, **platform.issuer_env}.items():
        monkeypatch.setenv(key, value)
    args = Namespace(scale=0.03, db=f"sqlite:///{tmp_path / 'season.db'}", amqp=platform.amqp_uri, seed=7)

    result = season.run(args)
    assert result["unpublished"] == 0 and result["over_capacity"] == 0
    assert result["participations"] > 0 and result["completed"] == result["activities"]

    folded = season.stats_figures(platform.amqp_uri, platform.token("e2e", "admin"), result["participations"], 120)
    assert folded["participations"] == result["participations"]
    assert folded["check_ins"] >= result["participations"]  # check-outs are counted too, with 0 人次
    assert folded["activities_completed"] == result["completed"]
    confirmed_events = result["events"].get("registration_confirmed", 0)
    assert folded["registrations_confirmed"] == confirmed_events
    assert f"累计参与{result['participations']}人次" in folded["report_text"]
