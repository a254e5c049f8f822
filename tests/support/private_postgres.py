"""A PostgreSQL cluster of the test's own, for the fault that stops a consumer's database. The machine's
shared server serves other people's tests and is never stopped. This cluster lives in a temporary
directory, listens on a free loopback port with trust authentication, and is removed afterwards.

As root, initdb and pg_ctl refuse to run; they run as the `postgres` user then (`runuser`).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

from nameko.testing.utils import find_free_port


class PrivatePostgresUnavailable(Exception):
    """No PostgreSQL server binaries here, or the cluster did not start: the caller skips, visibly."""


def _bin_dir() -> Path | None:
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(versions[-1]).parent if versions else None


class PrivatePostgres:
    def __init__(self, base: Path):
        self.bin = _bin_dir()
        self.base = base
        self.data = base / "data"
        self.port = find_free_port()
        self.as_root = os.geteuid() == 0

    @property
    def admin_url(self) -> str:
        return f"postgresql+pg8000://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+pg8000://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, tool: str, *args: str, timeout: float = 120) -> None:
        command = [str(self.bin / tool), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd="/")
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {(done.stderr or done.stdout).strip()[-500:]}")

    def start_cluster(self) -> None:
        if self.bin is None or not (self.bin / "initdb").exists():
            raise PrivatePostgresUnavailable("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        self.base.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            try:
                shutil.chown(self.base, "postgres")
            except (LookupError, PermissionError) as exc:
                raise PrivatePostgresUnavailable(f"no postgres user to run initdb as: {exc}") from exc
        try:
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        except (RuntimeError, FileNotFoundError) as exc:
            raise PrivatePostgresUnavailable(str(exc)) from exc
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.base} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.base / "server.log"), "-w", "start")

    def stop(self) -> None:
        """`pg_ctl stop -m fast`: clients are disconnected, in-flight transactions roll back."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def create_database(self, name: str) -> str:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.url(name)

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self.stop()
            except RuntimeError:
                pass
        shutil.rmtree(self.base, ignore_errors=True)


@contextmanager
def private_postgres():
    """A started private cluster, stopped and removed afterwards; raises PrivatePostgresUnavailable.
    Its directory is straight under the system temp dir: pytest's are private to root, which the
    postgres user could not enter."""
    cluster = PrivatePostgres(Path(tempfile.mkdtemp(prefix="nc-faults-pg-")))
    try:
        cluster.start_cluster()
        yield cluster
    finally:
        cluster.remove()
