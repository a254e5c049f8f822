"""`make test` on two cores: the suite in a few pytest processes at once, each over its own test files.

Not pytest-xdist: its execnet channels deadlock under eventlet's monkey patch (docs/decisions.md). Every test
builds what it needs (a vhost, a database, free ports), so whole files can run in separate processes; a file
stays in one process so its module-scoped platforms start once. Most of the suite waits on the broker and
on service processes, so one process leaves about half of the machine idle.

    python -m tests.shards [pytest options]   # every shard, at once; the exit code is the worst shard's
    python -m tests.shards --list             # which files each shard runs
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from xml.etree import ElementTree

REPO = Path(__file__).resolve().parent.parent
LOGS = REPO / "var" / "test"

# Balanced by the durations `make test` lists; a path is a directory or a file, and every test file
# belongs to exactly one shard (tests/shared/test_shards.py checks it).
SHARDS: dict[str, tuple[str, ...]] = {
    # shard minutes in .ci/run of 2026-12-04 19:49 UTC (the fault suite in its own target since): housing 8.7;
    # notify, stats and insurance 10.9 (insurance about 1.6 of it); events, e2e and ops 9.4; deploy, fuzz and
    # shared 7.9. So insurance runs beside the checks.
    "cases": ("tests/services/housing",),
    "messages": ("tests/services/notify", "tests/services/stats"),
    "flows": (
        "tests/cluster",  # deselected by the `cluster` marker: `make test-cluster` runs it
        "tests/contract",
        "tests/e2e",
        "tests/faults",  # deselected by the `faults` and `pg_failover` markers: their own targets run them
        "tests/image",  # deselected by the `image` marker: `make image-test` runs it
        "tests/ops",
        "tests/services/events",
    ),
    "checks": ("tests/deploy", "tests/fuzz", "tests/services/insurance", "tests/shared"),
}


def suite_files() -> list[str]:
    return sorted(str(path.relative_to(REPO)) for path in (REPO / "tests").rglob("test_*.py"))


def shard_of(test_file: str) -> list[str]:
    """Every shard that claims the file: exactly one, or the split is wrong."""
    return [
        name
        for name, paths in SHARDS.items()
        if any(test_file == path or test_file.startswith(path.rstrip("/") + "/") for path in paths)
    ]


@contextmanager
def suite_environment():
    """The shards' environment: TEST_POSTGRES_URL at a server of the run's own (durability off), unless the
    caller named one; the machine's server when none can be started here, saying why."""
    if os.environ.get("TEST_POSTGRES_URL"):
        yield dict(os.environ)
        return
    from tests.support.private_postgres import PrivatePostgresUnavailable, suite_postgres

    with ExitStack() as stack:
        try:
            admin_url = stack.enter_context(suite_postgres())
        except PrivatePostgresUnavailable as exc:
            admin_url = None
            print(f"PostgreSQL for this run: the machine's server (none of the run's own: {exc})", flush=True)
        if admin_url is None:
            yield dict(os.environ)
        else:
            print(f"PostgreSQL for this run: {admin_url} (a server of its own, durability off)", flush=True)
            yield {**os.environ, "TEST_POSTGRES_URL": admin_url}


def run(pytest_args: list[str]) -> int:
    with suite_environment() as environment:
        return run_shards(pytest_args, environment)


def run_shards(pytest_args: list[str], environment: dict) -> int:
    LOGS.mkdir(parents=True, exist_ok=True)
    started, cpu_before = time.monotonic(), cpu_times()
    running = {}
    for name, paths in SHARDS.items():
        log = (LOGS / f"{name}.log").open("w")
        command = [sys.executable, "-m", "pytest", *pytest_args, f"--junitxml={LOGS / name}.xml", *paths]
        running[name] = (
            subprocess.Popen(command, cwd=REPO, env=environment, stdout=log, stderr=subprocess.STDOUT),
            log,
            started,
        )
        print(f"shard {name}: {' '.join(paths)} (log: {Path(log.name).relative_to(REPO)})", flush=True)
    results = {}
    while running:
        for name, (process, log, _) in list(running.items()):
            if process.poll() is None:
                continue
            log.close()
            results[name] = (process.returncode, time.monotonic() - started)
            del running[name]
            print(f"\n===== shard {name}: exit {process.returncode} after {results[name][1] / 60:.1f} min", flush=True)
            print((LOGS / f"{name}.log").read_text(), flush=True)
        if running:
            time.sleep(1)  # polling child processes, not waiting for a test condition
    summary = ", ".join(f"{name} exit {rc} ({secs / 60:.1f} min)" for name, (rc, secs) in results.items())
    print(f"===== shards: {summary}")
    print_slowest_files([LOGS / f"{name}.xml" for name in SHARDS])
    busy = cpu_busy(cpu_before, cpu_times())
    minutes = (time.monotonic() - started) / 60
    print(f"===== all shards finished in {minutes:.1f} min; the machine's CPU was {busy:.0%} busy")
    return max(rc for rc, _ in results.values())


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of every core since boot, from /proc/stat; (0, 0) where there is none."""
    try:
        fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle and iowait
    return sum(fields) - idle, sum(fields)


def cpu_busy(before: tuple[int, int], after: tuple[int, int]) -> float:
    """How busy the whole machine was in between: near 100 % means more shards cannot help, only less work."""
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total else 0.0


def print_slowest_files(reports: list[Path], count: int = 12) -> None:
    """The files that took longest (setup, call and teardown of every test), from the shards' JUnit reports:
    what to look at first when a shard runs long, and what SHARDS balances on."""
    totals: dict[str, float] = {}
    for report in reports:
        try:
            cases = ElementTree.parse(report).iter("testcase")
        except (OSError, ElementTree.ParseError):
            continue
        for case in cases:
            module = case.get("classname", "").split(".Test")[0]
            totals[module] = totals.get(module, 0.0) + float(case.get("time") or 0)
    slowest = sorted(totals.items(), key=lambda item: -item[1])[:count]
    print(
        "===== slowest files: " + ", ".join(f"{module.replace('.', '/')}.py {secs:.0f} s" for module, secs in slowest)
    )


def main(argv: list[str]) -> int:
    if argv[:1] == ["--list"]:
        for name, paths in SHARDS.items():
            print(f"{name}: {' '.join(paths)}")
        return 0
    return run(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
