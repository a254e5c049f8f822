"""The platform's clock: a configured start that ticks on, refused in production, and one per container."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from services.housing.service import HousingService
from shared.platform import clock
from shared.platform.config import REPO_ROOT
from tests.shared.test_startup import PRODUCTION
from tests.support.databases import migrate

LAST_NIGHT_OF_NOVEMBER = datetime(2026, 11, 30, 23, 30, tzinfo=clock.SHANGHAI)


def test_a_configured_start_is_the_time_and_the_clock_ticks_on_from_it(process_clock):
    process_clock(LAST_NIGHT_OF_NOVEMBER)
    first = clock.utcnow()
    assert timedelta(0) <= first - LAST_NIGHT_OF_NOVEMBER < timedelta(seconds=5)
    assert clock.local_today() == LAST_NIGHT_OF_NOVEMBER.date()
    assert clock.utcnow() >= first  # it ticks: timeouts and leases measured on it still run out


def test_the_same_start_configured_again_does_not_turn_the_clock_back(process_clock):
    process_clock(LAST_NIGHT_OF_NOVEMBER)
    clock.process_clock().offset -= timedelta(minutes=5)  # as if five minutes had passed since
    later = clock.utcnow()
    clock.configure({"CLOCK_START": LAST_NIGHT_OF_NOVEMBER.isoformat()})  # the next container of the run
    assert clock.utcnow() >= later


@pytest.mark.parametrize("value", ["2026-11-30T23:30:00", "tomorrow"])
def test_a_start_without_an_offset_or_not_a_time_is_refused(value):
    with pytest.raises(ValueError):
        clock.configure({"CLOCK_START": value})


def test_production_refuses_a_configured_clock():
    with pytest.raises(clock.ClockRefused):
        clock.configure({"CLOCK_START": LAST_NIGHT_OF_NOVEMBER.isoformat(), "ENV": "production"})


def test_a_production_service_does_not_start_on_a_configured_clock(postgres_url, service_config, container_factory):
    migrate("housing", postgres_url)  # production refuses SQLite before it looks at the clock
    config = service_config(postgres_url, **PRODUCTION, CLOCK_START=LAST_NIGHT_OF_NOVEMBER.isoformat())
    container = container_factory(HousingService, config)
    with pytest.raises(clock.ClockRefused):
        container.start()


def test_a_container_clock_frozen_or_started_apart_from_the_process_clock():
    provider = clock.Clock()
    moment = datetime(2026, 3, 31, 15, 59, 59, tzinfo=UTC)
    provider.frozen = moment
    assert provider.now() == moment
    provider.start_at(moment)
    assert provider.frozen is None and timedelta(0) <= provider.now() - moment < timedelta(seconds=5)


def test_a_process_started_later_reads_the_same_platform_time(tmp_path):
    """A service restarted mid-test (or the ops CLI) inherits CLOCK_START and the anchor the first process
    set, so its clock is where the others are, not back at the configured start."""
    anchor = datetime.now(UTC) - timedelta(minutes=10)
    env = {**os.environ, "CLOCK_START": LAST_NIGHT_OF_NOVEMBER.isoformat(), "CLOCK_ANCHOR": repr(anchor.timestamp())}
    env["PYTHONPATH"] = str(REPO_ROOT)
    printed = subprocess.run(
        [sys.executable, "-c", "from shared.platform.clock import utcnow; print(utcnow().isoformat())"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    elapsed = datetime.fromisoformat(printed.strip()) - LAST_NIGHT_OF_NOVEMBER
    assert timedelta(minutes=10) <= elapsed < timedelta(minutes=10, seconds=30)
