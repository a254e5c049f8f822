"""Stats waits for fuller batches; notify, on the approval SMS's path, does not (docs/decisions.md)."""

from shared.config import load_service_config


def test_stats_batches_wait_up_to_200_ms_and_notify_takes_what_has_arrived(monkeypatch):
    monkeypatch.delenv("STATS_BATCH_WAIT_MS", raising=False)
    monkeypatch.delenv("NOTIFY_BATCH_WAIT_MS", raising=False)
    assert int(load_service_config("stats")["EVENT_BATCH_WAIT_MS"]) == 200
    assert int(load_service_config("notify")["EVENT_BATCH_WAIT_MS"]) == 0
