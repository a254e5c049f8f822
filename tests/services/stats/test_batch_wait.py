"""Neither stats nor notify waits for fuller batches by default; stats may be told to (docs/decisions.md)."""

from shared.platform.config import load_service_config


def test_batches_take_what_has_arrived_unless_stats_is_told_to_wait(monkeypatch):
    monkeypatch.delenv("STATS_BATCH_WAIT_MS", raising=False)
    monkeypatch.delenv("NOTIFY_BATCH_WAIT_MS", raising=False)
    assert int(load_service_config("stats")["EVENT_BATCH_WAIT_MS"]) == 0
    assert int(load_service_config("notify")["EVENT_BATCH_WAIT_MS"]) == 0
    monkeypatch.setenv("STATS_BATCH_WAIT_MS", "200")
    assert int(load_service_config("stats")["EVENT_BATCH_WAIT_MS"]) == 200
