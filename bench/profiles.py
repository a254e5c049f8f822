"""Reading `bench.sampler`'s counts: where each service's CPU went, in milliseconds per approval.

    .venv/bin/python -m bench.profiles stats shared/platform/batch_consumer.py:consume_batch   # after --profile

prints what the function's time went to, callee by callee (inclusive), from the last `bench.core_flow
--profile` run's stacks (var/bench/core_flow_stacks.json).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from shared.platform.config import REPO_ROOT

STACKS = REPO_ROOT / "var" / "bench" / "core_flow_stacks.json"
PROFILE = REPO_ROOT / "var" / "bench" / "core_flow_profile.json"


def sampled(out_dir: Path):
    """Start every service under `bench.sampler`, its counts in `out_dir/<service>.json` (for `running_platform`)."""
    from ops import launcher  # not at the top: it imports nameko, whose warnings `main` need not print

    commands = launcher.procfile_commands

    def wrapped(procfile=launcher.REPO_ROOT / "Procfile") -> dict[str, list[str]]:
        return {
            service: [sys.executable, "-m", "bench.sampler", str(out_dir / f"{service}.json"), *command]
            for service, command in commands(procfile).items()
        }

    launcher.procfile_commands = wrapped


def summary(counts: dict[str, float], approvals: int, top: int = 25) -> dict:
    """Self time by function (the stack's innermost frame) and inclusive time by function (each function
    once per stack it is in), both in ms per approval, largest first."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for stack, seconds in counts.items():
        frames = stack.split(";")
        own[frames[-1]] += seconds
        for frame in set(frames):
            inclusive[frame] += seconds
    per = 1000 / approvals
    return {
        "total_ms": sum(counts.values()) * per,
        "self": [(name, seconds * per) for name, seconds in own.most_common(top)],
        "inclusive": [(name, seconds * per) for name, seconds in inclusive.most_common(top)],
    }


def read(out_dir: Path, service: str) -> dict[str, float]:
    return json.loads((out_dir / f"{service}.json").read_text())


def callees(counts: dict[str, float], function: str) -> tuple[float, Counter[str]]:
    """Seconds inside `function` (its outermost call in each stack), and how they split by direct callee
    ("(self)": in the function's own code)."""
    within = 0.0
    split: Counter[str] = Counter()
    for stack, seconds in counts.items():
        frames = stack.split(";")
        if function not in frames:
            continue
        at = frames.index(function)
        within += seconds
        split[frames[at + 1] if at + 1 < len(frames) else "(self)"] += seconds
    return within, split


def main(argv: list[str]) -> int:
    service, function = argv
    counts = json.loads(STACKS.read_text())[service]
    approvals = json.loads(PROFILE.read_text())["pipeline"]["approvals"]
    within, split = callees(counts, function)
    print(f"{function}: {1000 * within / approvals:.3f} ms per approval")
    for callee, seconds in split.most_common():
        print(f"  {1000 * seconds / approvals:7.3f}  {callee}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
