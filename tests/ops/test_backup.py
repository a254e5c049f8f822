"""`newcitizen backup` / `restore` on one host: a backup taken while the platform runs, restored into empty
databases, serves every case again (SQLite and PostgreSQL); a restore checks everything before it writes."""

import json
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import create_engine, inspect, text

from ops.backup import MANIFEST, BackupError, read_manifest, restore
from shared.platform.config import SERVICES
from shared.platform.migrations import upgrade
from tests.conftest import _PG, POSTGRES_ADMIN_URL
from tests.support.platform import running_platform
from tests.support.residents import application
from tests.support.waiting import wait_for

NEWCITIZEN = str(Path(sys.executable).parent / "newcitizen")


def newcitizen(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([NEWCITIZEN, *args], env=env, capture_output=True, text=True, timeout=300)


@contextmanager
def postgres_databases(label: str):
    """One empty PostgreSQL database per service, dropped afterwards."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    names = {service: f"nc_backup_{label}_{service}_{uuid.uuid4().hex[:8]}" for service in SERVICES}
    parts = urlparse(POSTGRES_ADMIN_URL)
    with admin.connect() as connection:
        for name in names.values():
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield {service: f"{parts.scheme}://{parts.netloc}/{name}" for service, name in names.items()}
    finally:
        with admin.connect() as connection:
            for name in names.values():
                connection.execute(
                    text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
                )
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@contextmanager
def databases(kind: str, where: Path, label: str):
    if kind == "sqlite":
        yield {service: f"sqlite:///{where / label / service}.db" for service in SERVICES}
    else:
        if not _PG:
            pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}")
        with postgres_databases(label) as urls:
            yield urls


def cli_env(platform_env: dict, urls: dict) -> dict:
    import os

    return {**os.environ, **platform_env, **{f"{s.upper()}_DATABASE_URL": url for s, url in urls.items()}}


def proxy(platform, *roles):
    token = platform.token(f"backup-test-{'-'.join(roles)}", *roles)  # maker and checker are two people
    return ClusterRpcProxy(platform.rpc_config(), context_data={"authorization": token}, timeout=30)


@pytest.mark.e2e
@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_backup_of_the_running_platform_restores_into_empty_databases_with_every_case(kind, tmp_path):
    backup_dir = tmp_path / "backup"
    with databases(kind, tmp_path, "before") as before, databases(kind, tmp_path, "after") as after:
        with running_platform(tmp_path / "run1", database_urls=before) as platform:
            forms = [application() for _ in range(3)]
            with proxy(platform, "caseworker") as caseworker, proxy(platform, "reviewer") as reviewer:
                cases = [caseworker.housing.submit_subsidy_application(form) for form in forms]
                for case in cases[:2]:
                    reviewer.housing.review_subsidy_application(case["application_id"], "approve")
            with proxy(platform, "admin") as admin:
                wait_for(lambda: all(len(admin.notify.list_notifications(phone=f["phone"])) == 1 for f in forms[:2]))
                wait_for(lambda: admin.stats.summary()["counters"].get("housing.subsidy_approved") == 2)
            # taken while every service is still running
            taken = newcitizen(cli_env(platform.env, before), "backup", str(backup_dir))
            assert taken.returncode == 0, taken.stdout + taken.stderr
        manifest = json.loads((backup_dir / MANIFEST).read_text())
        assert [row["service"] for row in manifest["databases"]] == list(SERVICES)
        assert {row["kind"] for row in manifest["databases"]} == {"sqlite" if kind == "sqlite" else "postgresql"}
        assert all(row["revision"] for row in manifest["databases"])

        restored = newcitizen(cli_env({}, after), "restore", str(backup_dir))
        assert restored.returncode == 0, restored.stdout + restored.stderr
        again = newcitizen(cli_env({}, after), "restore", str(backup_dir))
        assert again.returncode == 1 and "not empty" in again.stderr

        with running_platform(tmp_path / "run2", database_urls=after) as platform:
            with proxy(platform, "caseworker") as caseworker:
                found = [caseworker.housing.get_subsidy_application(case["application_id"]) for case in cases]
            assert [case["status"] for case in found] == ["approved", "approved", "submitted"]
            with proxy(platform, "admin") as admin:
                assert [len(admin.notify.list_notifications(phone=f["phone"])) for f in forms] == [1, 1, 0]
                assert admin.stats.summary()["counters"].get("housing.subsidy_approved") == 2


def small_backup(tmp_path) -> tuple[Path, dict]:
    """A backup of two freshly migrated SQLite databases, taken through the module."""
    from ops.backup import backup

    urls = {service: f"sqlite:///{tmp_path / 'live' / service}.db" for service in ("housing", "stats")}
    for service, url in urls.items():
        upgrade(service, url)
    backup(urls, tmp_path / "backup")
    return tmp_path / "backup", urls


def test_a_restore_checks_every_file_and_target_before_writing_anything(tmp_path):
    source, live = small_backup(tmp_path)
    targets = {service: f"sqlite:///{tmp_path / 'new' / service}.db" for service in live}
    with (source / "stats.sqlite3").open("ab") as damaged:
        damaged.write(b"\0")
    with pytest.raises(BackupError) as caught:
        restore(targets, source)
    assert caught.value.problems == ["stats: stats.sqlite3 is missing or does not match its SHA-256"]
    assert not (tmp_path / "new").exists()  # housing, whose file was sound, was not restored either


def test_a_restore_lists_every_target_it_refuses(tmp_path):
    source, live = small_backup(tmp_path)
    targets = {"housing": live["housing"], "stats": "postgresql://nobody@127.0.0.1:1/none", "events": live["stats"]}
    with pytest.raises(BackupError) as caught:
        restore(targets, source)
    assert caught.value.problems == [
        "housing: the target database is not empty (stop the service; --replace overwrites)",
        "stats: a sqlite backup restores into sqlite, not postgresql",
        "events: not in this backup",
    ]


def test_replace_overwrites_a_database_with_the_backup(tmp_path):
    source, live = small_backup(tmp_path)
    engine = create_engine(live["housing"])
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE written_after_the_backup (x INTEGER)"))
    engine.dispose()
    restore({"housing": live["housing"]}, source, replace=True)
    engine = create_engine(live["housing"])
    assert "written_after_the_backup" not in inspect(engine).get_table_names()
    engine.dispose()
    assert read_manifest(source)["housing"].revision.startswith("housing_")


def test_a_directory_without_a_finished_manifest_is_not_a_backup(tmp_path):
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "housing.sqlite3").write_bytes(b"")
    with pytest.raises(BackupError, match="no manifest.json"):
        read_manifest(tmp_path / "half")
