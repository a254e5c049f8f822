"""Where every benchmark leaves its figures: var/bench/<name>.json, beside the table it printed."""

import json
from pathlib import Path

from shared.config import REPO_ROOT


def save(name: str, results: dict) -> Path:
    out = REPO_ROOT / "var" / "bench" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    return out
