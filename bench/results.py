"""Where every benchmark leaves its figures: var/bench/<name>.json, beside the table it printed; `record`
also appends the table to a page of docs/ with the commit it measured and the machine's load."""

import json
import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

from shared.platform.config import REPO_ROOT

GIT = shutil.which("git") or "git"


def save(name: str, results: dict) -> Path:
    out = REPO_ROOT / "var" / "bench" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    return out


def commit() -> str:
    """The commit measured; `+changes` when the work tree differs from it (the page being appended to aside)."""

    def git(*args: str) -> str:
        found = subprocess.run([GIT, *args], cwd=REPO_ROOT, capture_output=True, text=True)
        return found.stdout.strip()

    head = git("rev-parse", "--short=10", "HEAD") or "unknown"
    changed = [
        line for line in git("status", "--porcelain", "--untracked-files=no").splitlines() if "docs/" not in line
    ]
    return f"{head}+changes" if changed else head


def load_average() -> str:
    return " / ".join(f"{figure:.2f}" for figure in os.getloadavg())


def markdown(title: str, rows: list[tuple[str, str]]) -> str:
    lines = [title, "", "| figure | value |", "|---|---:|"]
    lines += [f"| {figure} | {value} |" for figure, value in rows]
    return "\n".join(lines) + "\n"


def record(page: Path, title: str, rows: list[tuple[str, str]], load_before: str) -> str:
    """Append the table to `page` under a heading naming the date, the commit and the load average (1 / 5 /
    15 min) at the start and the end of the run; returns the heading."""
    heading = (
        f"### {datetime.now().isoformat(timespec='minutes')} · commit `{commit()}` · "
        f"load {load_before} → {load_average()}"
    )
    with page.open("a", encoding="utf-8") as out:
        out.write("\n" + markdown(f"{heading}\n\n{title}", rows))
    return heading
