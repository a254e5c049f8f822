"""Revoked caller tokens, by token id (`jti`): one id a line in the file `JWT_REVOCATION_LIST` names.

Every service reads the same file (a ConfigMap mounted into each pod; `var/revoked-tokens` locally) and
reads it again whenever it changes, so a revocation takes effect without a restart. A listed id is refused
until the file drops it, which may be done once the token's `exp` has passed (no token outlives
`JWT_MAX_TTL_SECONDS`). `python -m shared.platform.auth revoke JTI` appends one.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from shared.platform.config import REPO_ROOT

DEFAULT_PATH = "var/revoked-tokens"


def revocation_path(config: dict) -> Path:
    path = Path(str(config.get("JWT_REVOCATION_LIST") or DEFAULT_PATH))
    return path if path.is_absolute() else REPO_ROOT / path


class RevocationList:
    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._ids: frozenset[str] = frozenset()

    def __contains__(self, jti: str) -> bool:
        return jti in self._current()

    def _current(self) -> frozenset[str]:
        try:
            stat = os.stat(self.path)
            stamp = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            return frozenset()
        if stamp != self._stamp:
            with self._lock:
                text = self.path.read_text(encoding="utf-8")
                self._ids = frozenset(
                    line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
                )
                self._stamp = stamp
        return self._ids


def revoke(path: Path, jti: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(jti.strip() + "\n")
