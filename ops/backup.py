"""`newcitizen backup DIR` and `newcitizen restore DIR`: every service's database, copied for one host.

SQLite is copied with SQLite's online backup API, and PostgreSQL with `pg_dump --format=custom`. Each copy is
one consistent snapshot taken while the service keeps running. A restore uses the same API, or `pg_restore`
in one transaction. `manifest.json` is written last. It names each file's service, kind, Alembic revision and
SHA-256. A restore checks every file against it, and every target, before it writes anything. A target must be
empty (no tables) unless `replace=True`, because a restore over a live database would mix two histories.
Stop the service before a restore. Kubernetes uses CloudNativePG's Barman Cloud plugin instead (deploy/k8s/).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from shared.platform.clock import utcnow
from shared.platform.db import make_engine, normalise_url

MANIFEST = "manifest.json"
FORMAT = 1
SQLITE, POSTGRESQL = "sqlite", "postgresql"
SUFFIX = {SQLITE: ".sqlite3", POSTGRESQL: ".dump"}


class BackupError(Exception):
    """What stops a backup or a restore, every problem listed. Nothing has been written when it is raised."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class Entry:
    service: str
    kind: str
    file: str
    sha256: str
    revision: str | None


def kind_of(url: str) -> str:
    backend = make_url(normalise_url(url)).get_backend_name()
    if backend not in (SQLITE, POSTGRESQL):
        raise BackupError([f"cannot back up a {backend} database"])
    return backend


def backup(databases: dict[str, str], dest: Path) -> list[Entry]:
    """`databases`: service -> DATABASE_URL. `dest` must not exist yet, or be empty."""
    if dest.exists() and any(dest.iterdir()):
        raise BackupError([f"{dest} is not empty"])
    kinds = {service: kind_of(url) for service, url in databases.items()}
    missing = [f"{service}: {_path(url)} does not exist" for service, url in databases.items()
               if kinds[service] == SQLITE and not Path(_path(url)).exists()]  # fmt: skip
    if missing:
        raise BackupError(missing)
    if POSTGRESQL in kinds.values():
        _need("pg_dump")
    dest.mkdir(parents=True, exist_ok=True)
    entries = []
    for service, url in databases.items():
        file = dest / f"{service}{SUFFIX[kinds[service]]}"
        if kinds[service] == SQLITE:
            _sqlite_copy(_path(url), file)
        else:
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={file}", _libpq(url)])
        entries.append(Entry(service, kinds[service], file.name, _sha256(file), _revision(url)))
    manifest = {"format": FORMAT, "taken_at": utcnow().isoformat(), "databases": [asdict(e) for e in entries]}
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return entries


def restore(databases: dict[str, str], source: Path, *, replace: bool = False) -> list[Entry]:
    """Restore the services named in `databases` (service -> target DATABASE_URL) from `source`."""
    entries = read_manifest(source)
    problems = []
    for service, url in databases.items():
        entry = entries.get(service)
        if entry is None:
            problems.append(f"{service}: not in this backup")
            continue
        if kind_of(url) != entry.kind:
            problems.append(f"{service}: a {entry.kind} backup restores into {entry.kind}, not {kind_of(url)}")
        elif not replace and _tables(url):
            problems.append(f"{service}: the target database is not empty (stop the service; --replace overwrites)")
    if problems:
        raise BackupError(problems)
    if any(entries[service].kind == POSTGRESQL for service in databases):
        _need("pg_restore")
    for service, url in databases.items():
        entry, file = entries[service], source / entries[service].file
        if entry.kind == SQLITE:
            Path(_path(url)).parent.mkdir(parents=True, exist_ok=True)
            _sqlite_copy(str(file), Path(_path(url)))
        else:
            clean = ["--clean", "--if-exists"] if replace else []
            _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                  *clean, f"--dbname={_libpq(url)}", str(file)])  # fmt: skip
    return [entries[service] for service in databases]


def read_manifest(source: Path) -> dict[str, Entry]:
    """The manifest's entries by service, each file checked against its SHA-256."""
    path = source / MANIFEST
    if not path.exists():
        raise BackupError([f"{source} has no {MANIFEST}: not a backup, or one that did not finish"])
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise BackupError([f"backup format {manifest.get('format')!r}, this version reads {FORMAT}"])
    entries = {row["service"]: Entry(**row) for row in manifest["databases"]}
    damaged = [
        f"{entry.service}: {entry.file} is missing or does not match its SHA-256"
        for entry in entries.values()
        if not (source / entry.file).exists() or _sha256(source / entry.file) != entry.sha256
    ]
    if damaged:
        raise BackupError(damaged)
    return entries


def _sqlite_copy(source: str, target: Path) -> None:
    with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def _tables(url: str) -> list[str]:
    if kind_of(url) == SQLITE and not Path(_path(url)).exists():
        return []
    engine = make_engine(url)
    try:
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


def _revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            if "alembic_version" not in inspect(connection).get_table_names():
                return None
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def _path(url: str) -> str:
    return str(make_url(url).database)


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as libpq reads it (no driver name)."""
    return make_url(normalise_url(url)).set(drivername="postgresql").render_as_string(hide_password=False)


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        raise BackupError([f"{tool} is not installed (Debian: apt-get install postgresql-client)"])


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        # the command line holds the database URL (maybe a password): report the tool and its own message
        raise BackupError([f"{argv[0]} failed: {done.stderr.strip()[-500:]}"])


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
