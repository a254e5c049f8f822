"""`python -m ops.migrated SERVICE` (the Kubernetes init container) says "at head" only after migrations ran."""

from ops.migrated import at_head, main
from shared.platform.migrations import upgrade


def test_at_head_only_after_the_upgrade(sqlite_url):
    assert at_head("housing", sqlite_url) is False  # empty database
    upgrade("housing", sqlite_url)
    assert at_head("housing", sqlite_url) is True


def test_main_waits_then_gives_up_with_a_reason(monkeypatch, tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'stats.db'}"
    monkeypatch.setenv("STATS_DATABASE_URL", url)
    assert main(["stats"]) == 1
    assert "stats: database is not at the migrations' head" in capsys.readouterr().err
    upgrade("stats", url)
    assert main(["stats", "--wait", "5"]) == 0
