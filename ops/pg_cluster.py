"""A PostgreSQL primary and a streaming standby on loopback, from the machine's server binaries: two data
directories under one base directory, the standby made with `pg_basebackup` and fed by streaming
replication. What the failover suite runs the platform on, and a way to try failover by hand:

    python -m ops.pg_cluster start --dir /tmp/nc-pg --ports 5441 5442   # prints the services' URL
    python -m ops.pg_cluster fail --dir /tmp/nc-pg                      # stop the primary, promote the standby
    python -m ops.pg_cluster stop --dir /tmp/nc-pg                      # stop both; --remove deletes the dir

Commits are synchronous to the standby (`synchronous_standby_names` on the primary,
`synchronous_commit=on`): the primary acknowledges a commit only once the standby has flushed its WAL, so a
promoted standby holds every commit a client was told about (docs/reliability.md). A promoted standby has
no standby of its own and commits asynchronously, alone. Clients reach whichever server is writable through
`multi_host_url` (`target_session_attrs=read-write`). Trust authentication, loopback only: for tests and
trials on one machine, never for a deployment. As root the tools run as the `postgres` user (`runuser`),
since initdb and postgres refuse root.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

STANDBY_NAME = "standby"  # the standby's application_name, which the primary's synchronous_standby_names names
STREAMING_STATE = (
    "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby' AND state = 'streaming'"
)


class PostgresUnavailable(Exception):
    """No PostgreSQL server binaries here, or a server did not start: a caller may skip, saying why."""


def server_bin_dir() -> Path | None:
    """Debian's newest versioned directory (it has every tool), else wherever `pg_ctl` is on PATH."""
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if versions:
        return Path(versions[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).resolve().parent if on_path else None


class PgServer:
    """One server: a data directory, a loopback port, its log and socket directory beside the data."""

    def __init__(self, base: Path, port: int, name: str = "data", settings: dict | None = None):
        self.bin = server_bin_dir()
        self.base = base
        self.data = base / name
        self.log = base / f"{name}.log"
        self.port = port
        self.settings = {"listen_addresses": "127.0.0.1", "fsync": "off", **(settings or {})}
        self.as_root = os.geteuid() == 0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def run(self, tool: str, *args: str, timeout: float = 120) -> str:
        if self.bin is None or not (self.bin / tool).exists():
            raise PostgresUnavailable(f"PostgreSQL server binaries ({tool}) are not installed")
        command = [str(self.bin / tool), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd="/")
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {(done.stderr or done.stdout).strip()[-500:]}")
        return done.stdout

    def prepare_base(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            try:
                shutil.chown(self.base, "postgres")
            except (LookupError, PermissionError) as exc:
                raise PostgresUnavailable(f"no postgres user to run the server as: {exc}") from exc

    def initdb(self) -> None:
        self.prepare_base()
        try:
            self.run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        except (RuntimeError, FileNotFoundError) as exc:
            raise PostgresUnavailable(str(exc)) from exc

    def start(self) -> None:
        options = " ".join([f"-p {self.port}", f"-k {self.base}", *(f"-c {k}={v}" for k, v in self.settings.items())])
        self.run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """`fast`: clients are disconnected, in-flight transactions roll back. `immediate`: every server
        process quits at once, as in a crash (the next start recovers from the WAL)."""
        self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def promote(self) -> None:
        """End recovery: a standby becomes a primary that takes writes (`pg_ctl promote` waits for it)."""
        self.run("pg_ctl", "-D", str(self.data), "-w", "promote")

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def sql(self, statement: str, database: str = "postgres") -> str:
        """One statement through `psql`, unaligned output: for the script and its checks, not for services."""
        return self.run(
            "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database, "-XAtc", statement
        ).strip()


class PgPair:
    """A primary and its synchronous streaming standby under one base directory."""

    def __init__(self, base: Path, ports: tuple[int, int]):
        self.base = base
        self.primary = PgServer(base, ports[0], "primary", {"synchronous_standby_names": STANDBY_NAME})
        self.standby = PgServer(base, ports[1], "standby")

    @property
    def servers(self) -> list[PgServer]:
        return [self.primary, self.standby]

    def multi_host_url(self, database: str) -> str:
        """What the services are given: both servers, and libpq keeps to the one that takes writes."""
        hosts = ",".join(f"127.0.0.1:{server.port}" for server in self.servers)
        return f"postgresql://postgres@{hosts}/{database}?target_session_attrs=read-write&connect_timeout=2"

    def start(self) -> None:
        self.primary.initdb()
        self.primary.start()
        self.primary.prepare_base()
        self.standby.run(
            "pg_basebackup",
            *("-D", str(self.standby.data), "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres"),
            *("-X", "stream", "--checkpoint=fast", "--no-sync", "-R", "-C", "-S", "nc_standby"),
        )
        # -R wrote primary_conninfo; a later line of the same file wins, so this one names the standby
        conninfo = f"host=127.0.0.1 port={self.primary.port} user=postgres application_name={STANDBY_NAME}"
        with (self.standby.data / "postgresql.auto.conf").open("a") as conf:
            conf.write(f"primary_conninfo = '{conninfo}'\n")
        self.standby.start()

    def wait_streaming(self, timeout: float = 30) -> str:
        """Wait until the primary sees the standby streaming; returns its sync_state (`sync` expected)."""
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            state = self.primary.sql(STREAMING_STATE)
            if state:
                return state
            time.sleep(0.2)  # polling the server's own view, not standing in for a condition
        raise PostgresUnavailable(f"the standby did not start streaming in {timeout}s; see {self.standby.log}")

    def fail_over(self) -> None:
        """The failure and the operator's answer: the primary dies, the standby is promoted."""
        self.primary.stop("immediate")
        self.standby.promote()

    def stop(self) -> None:
        for server in self.servers:
            if server.running:
                try:
                    server.stop("fast")
                except RuntimeError:
                    server.stop("immediate")

    def remove(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def status(self) -> dict:
        def role(server: PgServer) -> str:
            if not server.running:
                return "stopped"
            return "standby" if server.sql("SELECT pg_is_in_recovery()") == "t" else "primary"

        return {f"127.0.0.1:{server.port}": role(server) for server in self.servers}


def _pair(args) -> PgPair:
    saved = Path(args.dir) / "ports.json"
    ports = tuple(args.ports) if args.ports else tuple(json.loads(saved.read_text()))
    return PgPair(Path(args.dir), ports)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.pg_cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["start", "stop", "fail", "status"])
    parser.add_argument("--dir", required=True, help="base directory of both data directories")
    parser.add_argument("--ports", type=int, nargs=2, metavar=("PRIMARY", "STANDBY"), help="default 5441 5442")
    parser.add_argument("--remove", action="store_true", help="with stop: delete the base directory")
    args = parser.parse_args(argv)
    if args.command == "start":
        args.ports = args.ports or [5441, 5442]
        pair = _pair(args)
        pair.start()
        (pair.base / "ports.json").write_text(json.dumps(args.ports))
        print(f"replication: {pair.wait_streaming()}; services: {pair.multi_host_url('<database>')}")
        return 0
    pair = _pair(args)
    if args.command == "stop":
        pair.remove() if args.remove else pair.stop()
    elif args.command == "fail":
        pair.fail_over()
    print(json.dumps(pair.status()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
