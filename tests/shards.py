"""`make test` on two cores: the suite in a few pytest processes at once, each over its own test files.

Not pytest-xdist: its execnet channels deadlock under eventlet's monkey patch (docs/decisions.md). Every test
builds what it needs (a vhost, a database, free ports), so whole files can run in separate processes; a file
stays in one process so its module-scoped platforms start once. Most of the suite waits on the broker and
on service processes, so one process leaves about half of the machine idle.

    python -m tests.shards [pytest options]   # every shard, at once; the exit code is the worst shard's
    python -m tests.shards --list             # which files each shard runs
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LOGS = REPO / "var" / "test"

# Balanced by the durations `make test` lists; a path is a directory or a file, and every test file
# belongs to exactly one shard (tests/shared/test_shards.py checks it).
SHARDS: dict[str, tuple[str, ...]] = {
    "cases": ("tests/services/housing", "tests/services/insurance"),
    "messages": ("tests/services/events", "tests/services/notify", "tests/services/stats"),
    "platform": (
        "tests/cluster",  # deselected by the `cluster` marker: `make test-cluster` runs it
        "tests/contract",
        "tests/deploy",
        "tests/e2e",
        "tests/faults",
        "tests/fuzz",
        "tests/ops",
        "tests/shared",
    ),
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


def run(pytest_args: list[str]) -> int:
    LOGS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    running = {}
    for name, paths in SHARDS.items():
        log = (LOGS / f"{name}.log").open("w")
        command = [sys.executable, "-m", "pytest", *pytest_args, *paths]
        running[name] = (subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT), log, started)
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
    print(f"===== all shards finished in {(time.monotonic() - started) / 60:.1f} min")
    return max(rc for rc, _ in results.values())


def main(argv: list[str]) -> int:
    if argv[:1] == ["--list"]:
        for name, paths in SHARDS.items():
            print(f"{name}: {' '.join(paths)}")
        return 0
    return run(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
