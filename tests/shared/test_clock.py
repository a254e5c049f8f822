"""The platform's clock: a configured start that ticks on, refused in production, and one per container."""

from datetime import UTC, datetime, timedelta

import pytest

from services.housing.service import HousingService
from shared import clock
from shared.migrations import upgrade

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


def test_a_production_service_does_not_start_on_a_configured_clock(sqlite_url, service_config, container_factory):
    upgrade("housing", sqlite_url)
    config = service_config(sqlite_url, ENV="production", CLOCK_START=LAST_NIGHT_OF_NOVEMBER.isoformat())
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
